import AsyncHTTPClient
import ConsulCatalog
import ControlPlane
import Foundation
import Logging
import NIOCore
import ResourceCache
import TestSupport
import Testing

/// `serve` as the executable wires it, run in-process on ephemeral ports: a catalog file edit
/// reaches a connected ADS stream, and the admin API reports the proxies and the pipeline.
@Suite("Control plane, wired in-process")
struct ControlPlaneServerTests {
  static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../envoy-configs/catalog.json").standardized

  @Test("a catalog file edit reaches a connected stream; the admin API shows the proxy and the pipeline")
  func editReachesStream() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("control-plane-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("catalog.json").path
    let original = try String(contentsOf: Self.example, encoding: .utf8)
    try original.write(toFile: path, atomically: true, encoding: .utf8)

    var configuration = ServeConfiguration(source: .file(path: path))
    (configuration.xdsPort, configuration.adminPort) = (0, 0)
    configuration.dataDirectory = directory.appendingPathComponent("data")
    let server = ControlPlaneServer(configuration: configuration, logger: Logger(label: "test"))
    let ports = Ports()
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.run { listener, port in ports.set(listener, port) } }
      let (xds, admin) = try await ports.both()
      let watcher = ADSWatcher()
      group.addTask { try await watcher.run(port: xds, node: "api-sidecar-proxy") }
      try await until("the first clusters") { watcher.latest(.cluster) != nil }
      let before = try #require(watcher.latest(.cluster))
      #expect(before.names.contains("local_app"))

      // A new upstream for api: web's sidecar is unchanged, api's gets a cluster more.
      let edited = original.replacingOccurrences(
        of: #""DestinationName": "db","#, with: #""DestinationName": "web", "LocalBindPort": 9191}, {"DestinationName": "db","#)
      #expect(edited != original)
      let temporary = path + ".tmp"
      try edited.write(toFile: temporary, atomically: false, encoding: .utf8)
      #expect(rename(temporary, path) == 0)
      try await until("the edit") { watcher.latest(.cluster)?.version != before.version }
      #expect(watcher.latest(.cluster)?.names.contains { $0.hasPrefix("web.") } == true)

      let proxies = try await get(admin, "/v1/proxies")
      #expect(proxies.contains(#""node" : "api-sidecar-proxy""#))
      let pipeline = try JSONDecoder().decode(PipelineStatistics.self, from: Data(try await get(admin, "/v1/pipeline").utf8))
      #expect(pipeline.translations >= 2)
      #expect(pipeline.updatesReceived >= 2)
      #expect(pipeline.translating == false)
      // The edit touched api's sidecar only (and what reads api): not every proxy.
      #expect(pipeline.lastProxiesTranslated < server.cache.nodeIDs.count)
      group.cancelAll()
    }
  }

  func get(_ port: Int, _ path: String) async throws -> String {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(5))
    return String(buffer: try await response.body.collect(upTo: 1 << 20))
  }
}

/// Waits (bounded, 10 s) for a condition, polling every 10 ms.
func until(_ what: String, _ condition: () -> Bool) async throws {
  for _ in 0..<1000 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
  try #require(condition(), "timed out waiting for \(what)")
}

/// The ports the server reports as it starts listening.
final class Ports: Sendable {
  private let (stream, continuation) = AsyncStream.makeStream(of: (ControlPlaneServer.Listener, Int).self)

  func set(_ listener: ControlPlaneServer.Listener, _ port: Int) { continuation.yield((listener, port)) }

  func both() async throws -> (xds: Int, admin: Int) {
    var xds: Int?
    var admin: Int?
    for await (listener, port) in stream {
      switch listener {
      case .xds: xds = port
      case .admin: admin = port
      }
      if let xds, let admin { return (xds, admin) }
    }
    throw CancellationError()
  }
}
