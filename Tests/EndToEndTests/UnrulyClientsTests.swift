import Foundation
import TestSupport
import Testing

/// Misbehaving clients next to a healthy Envoy: they must neither slow its updates much nor grow
/// the server's memory without bound.
@Suite("End to end: misbehaving clients are isolated", .serialized)
struct UnrulyClientsTests {
  @Test("200 that never read, 200 sending garbage, oversized or out-of-order requests, 1,000 connecting and disconnecting")
  func isolation() async throws {
    let limit = 1024 * 1024
    let mesh = try await MeshDeployment.start(serveArguments: ["--xds-max-request-bytes", "\(limit)"])
    defer { mesh.stop() }
    try await eventually("the direct path answers", timeout: 30) { try await mesh.call("authentication").status == 200 }
    var asynchronous = false
    /// One catalog change the healthy sidecar must apply: the time until its Envoy shows it.
    func convergence() async throws -> Duration {
      asynchronous.toggle()
      let mode = asynchronous ? "asynchronous" : "synchronous"
      try mesh.editCatalog { document in
        document.entry("service-defaults", "authentication") { entry in
          entry["EnvoyExtensions"] = [["Name": "builtin/aws/lambda", "Arguments": [
            "ARN": "arn:aws:lambda:us-east-1:123456789012:function:authentication", "InvocationMode": mode,
          ]]]
        }
      }
      let start = ContinuousClock.now
      let expected = asynchronous ? 202 : 200
      try await eventually("the sidecar applies the change", timeout: 30, every: 0.02) {
        try await mesh.call("authentication").status == expected
      }
      return ContinuousClock.now - start
    }
    func median(_ samples: [Duration]) -> Duration { samples.sorted()[samples.count / 2] }

    var unloaded: [Duration] = []
    for _ in 0..<7 { unloaded.append(try await convergence()) }
    let rssBefore = mesh.server.residentKiB
    let port = mesh.server.xdsPort
    let node = "api-sidecar-proxy"
    var loaded: [Duration] = []
    var rssPeak = 0
    try await withThrowingTaskGroup(of: Void.self) { group in
      for _ in 0..<200 { group.addTask { await UnrulyClients.neverReads(port: port, node: node) } }
      for _ in 0..<70 { group.addTask { await UnrulyClients.garbage(port: port, pause: .milliseconds(200)) } }
      for _ in 0..<65 {
        group.addTask { await UnrulyClients.oversized(port: port, node: node, bytes: limit + limit / 2, pause: .milliseconds(500)) }
      }
      for _ in 0..<65 { group.addTask { await UnrulyClients.outOfOrder(port: port, node: node, pause: .milliseconds(200)) } }
      for _ in 0..<1000 { group.addTask { await UnrulyClients.churn(port: port, node: node, pause: .seconds(1)) } }
      try await Task.sleep(for: .seconds(3))
      for _ in 0..<7 {
        loaded.append(try await convergence())
        rssPeak = max(rssPeak, mesh.server.residentKiB)
      }
      group.cancelAll()
    }
    // The clients are gone; the server should give back what they held.
    try await Task.sleep(for: .seconds(3))
    let rssAfter = mesh.server.residentKiB
    print("""
      healthy sidecar's convergence, median of 7: \(median(unloaded)) unloaded, \(median(loaded)) next to 1,400 misbehaving clients \
      (all: \(unloaded.map(\\.description)) / \(loaded.map(\\.description)))
      lambda-xds RSS: \(rssBefore / 1024) MiB before, \(rssPeak / 1024) MiB at most under load, \(rssAfter / 1024) MiB after
      """)
    #expect(median(loaded) <= median(unloaded) * 2, "the misbehaving clients slowed the healthy sidecar more than 2x")
    #expect(rssAfter - rssBefore < 64 * 1024, "memory grew by \((rssAfter - rssBefore) / 1024) MiB and stayed")
    #expect(try await mesh.call("payments").status == 201, "the gateway is unaffected")
  }
}
