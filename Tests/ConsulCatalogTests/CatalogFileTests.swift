import ConsulCatalog
import Foundation
import Synchronization
import Testing

@Suite("Catalog file")
struct CatalogFileTests {
  static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("envoy-configs/catalog.json").path

  @Test("the shipped example: api with a direct and a gated Lambda upstream (both forms) and db; web calls api")
  func example() throws {
    let catalog = try CatalogFile.snapshot(contentsOf: Self.example)
    #expect(catalog.rejectedObjects.isEmpty)
    #expect(catalog.datacenter == "dc1")
    #expect(Set(catalog.proxies.keys) == ["api-sidecar-proxy", "web-sidecar-proxy", "db-sidecar-proxy", "terminating-gateway", "mesh-gateway"])
    let sidecar = try #require(catalog.instances["api-sidecar-proxy"]?.proxy)
    #expect(sidecar.upstreams.map(\.destinationName) == ["authentication", "payments", "db"])
    #expect(sidecar.problems.isEmpty && sidecar.localServicePort == 8080)
    #expect(catalog.resolved(sidecar).protocol == "http" && catalog.serviceProtocol("db") == "tcp")
    #expect(catalog.connectEndpointsByService["api"]?.map(\.id) == ["api-sidecar-proxy"])
    #expect(sidecar.upstreams.allSatisfy { $0.localBindAddress == "127.0.0.1" })
    #expect(catalog.lambdas["authentication"]?.source == .envoyExtension)
    #expect(catalog.lambdas["payments"]?.source == .legacyMeta)
    #expect(catalog.lambdas.values.allSatisfy { $0.isValid })
    #expect(catalog.gateways(linking: "payments") == ["terminating-gateway"])
    #expect(catalog.gateways(linking: "authentication").isEmpty)
    #expect(catalog.healthyInstances(of: "terminating-gateway").map(\.port) == [8443])
    #expect(catalog.instances["authentication"]?.address == "", "a Lambda service has no address")
  }

  @Test("YAML holds the same objects as JSON")
  func yaml() throws {
    let yaml = """
      datacenter: dc2
      registrations:
        - Node: n
          Address: 10.0.0.1
          Service: {ID: gw, Service: gw, Kind: terminating-gateway, Port: 8443}
          Checks: [{CheckID: c, Status: critical}]
      config_entries:
        - Kind: service-defaults
          Name: f
          Protocol: http
          EnvoyExtensions:
            - Name: builtin/aws/lambda
              Arguments: {ARN: "arn:aws:lambda:eu-west-1:123456789012:function:f", PayloadPassthrough: true}
      """
    let catalog = try CatalogFile.snapshot(data: Data(yaml.utf8), name: "inline.yaml")
    #expect(catalog.datacenter == "dc2")
    #expect(catalog.instances["gw"]?.healthy == false, "a critical check makes the instance unhealthy")
    #expect(try catalog.lambdas["f"]?.function.get().payloadPassthrough == true)
  }

  @Test("one invalid ARN or one broken object is isolated; everything else stays")
  func isolation() throws {
    let json = """
      {"registrations":[{"Node":"n","Service":{"Service":"ok"}},{"Service":{"Service":"no-node"}}],
       "config_entries":[
        {"Kind":"service-defaults","Name":"bad","Protocol":"http","EnvoyExtensions":[{"Name":"builtin/aws/lambda","Arguments":{"ARN":"arn:nope"}}]},
        {"Kind":"service-defaults","Name":"good","Protocol":"http","EnvoyExtensions":[{"Name":"builtin/aws/lambda","Arguments":{"ARN":"arn:aws:lambda:us-east-1:123456789012:function:good"}}]},
        {"Name":"kindless"}]}
      """
    let catalog = try CatalogFile.snapshot(data: Data(json.utf8), name: "t.json")
    #expect(catalog.instances.keys.sorted() == ["ok"])
    #expect(catalog.lambdas["good"]?.isValid == true)
    #expect(catalog.lambdas["bad"]?.invalidReason?.contains("invalid Lambda ARN") == true)
    #expect(catalog.rejectedObjects.count == 2)
    #expect(catalog.rejectedObjects[0].contains("needs a Node"))
  }

  @Test("the watcher publishes valid edits, reports a broken edit and keeps the last good snapshot")
  func watcher() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("catalog.json").path
    func write(_ text: String) throws { try text.write(toFile: path, atomically: true, encoding: .utf8) }
    try write(#"{"datacenter":"dc1"}"#)

    let published = Recorder<CatalogSnapshot>()
    let errors = Recorder<String>()
    let watcher = CatalogFileWatcher(path: path, pollInterval: .milliseconds(20))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        await watcher.run(
          publish: { snapshot, _ in published.append(snapshot) },
          onError: { error in errors.append(error.description) })
      }
      func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<250 where !condition() { try await Task.sleep(for: .milliseconds(20)) }
        #expect(condition(), "timed out waiting for \(what)")
      }
      try await waitFor("the first snapshot") { published.items.count == 1 }
      try write(#"{"datacenter":"dc2"}"#)
      try await waitFor("the edit") { published.items.last?.datacenter == "dc2" }
      try write(#"{"datacenter": "dc3", broken"#)
      try await waitFor("the error") { !errors.items.isEmpty }
      try write(#"{"datacenter": "dc2"}   "#)  // same content, different bytes: nothing new
      try await Task.sleep(for: .milliseconds(200))
      #expect(published.items.map(\.datacenter) == ["dc1", "dc2"])
      #expect(errors.items.first?.contains("not valid JSON or YAML") == true)
      group.cancelAll()
    }
  }
}

/// Collects values from concurrent callbacks.
public final class Recorder<T: Sendable>: Sendable {
  private let storage = Mutex<[T]>([])
  func append(_ item: T) { storage.withLock { $0.append(item) } }
  var items: [T] { storage.withLock { $0 } }
}
