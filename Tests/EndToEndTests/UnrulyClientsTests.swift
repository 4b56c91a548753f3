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
    let listener = "listener/authentication:127.0.0.1:\(mesh.ports["authentication"]!)"
    /// One catalog change the healthy sidecar must apply: from the edit to the moment Envoy
    /// applied it, by Envoy's own clock (`last_updated`), so the test's own load cannot skew it.
    func convergence() async throws -> Duration {
      let previous = try await mesh.sidecar.configView().lastUpdated[listener]
      asynchronous.toggle()
      let mode = asynchronous ? "asynchronous" : "synchronous"
      // Before the edit: the file watch can deliver it before editCatalog even returns.
      let edited = Date()
      try mesh.editCatalog { document in
        document.entry("service-defaults", "authentication") { entry in
          entry["EnvoyExtensions"] = [["Name": "builtin/aws/lambda", "Arguments": [
            "ARN": "arn:aws:lambda:us-east-1:123456789012:function:authentication", "InvocationMode": mode,
            "PayloadPassthrough": true,
          ]]]
        }
      }
      let applied = try await poll("the sidecar applies the change", timeout: 30, every: 0.05) { () -> String? in
        let now = try await mesh.sidecar.configView().lastUpdated[listener]
        return now != previous ? now : nil
      }
      let format = ISO8601DateFormatter()
      format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
      // Envoy leaves the fraction out when it is exactly .000.
      let whole = ISO8601DateFormatter()
      whole.formatOptions = [.withInternetDateTime]
      let at = try #require(format.date(from: applied) ?? whole.date(from: applied), "\(applied)")
      return .milliseconds(Int(at.timeIntervalSince(edited) * 1000))
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
      let cpu0 = (mesh.server.cpuSeconds, selfCPU())
      for _ in 0..<7 {
        loaded.append(try await convergence())
        rssPeak = max(rssPeak, mesh.server.residentKiB)
      }
      print("CPU during the loaded phase: server \(mesh.server.cpuSeconds - cpu0.0) s, test process \(selfCPU() - cpu0.1) s")
      group.cancelAll()
    }
    // The clients are gone; the server gives back what they held within seconds.
    let released = ContinuousClock.now
    // Near: within 24 MiB of the ~100 MiB the clients took (the allocator keeps some of what
    // it handed out; 7-17 MiB stayed in runs on the 2-core machine).
    try? await eventually("the server's memory back near where it was", timeout: 20, every: 0.5) {
      mesh.server.residentKiB - rssBefore < 24 * 1024
    }
    let rssAfter = mesh.server.residentKiB
    print("memory given back within \(ContinuousClock.now - released) of the clients leaving")
    print("""
      healthy sidecar's convergence, median of 7: \(median(unloaded)) unloaded, \(median(loaded)) next to 1,400 misbehaving clients \
      (all: \(unloaded) / \(loaded))
      lambda-xds RSS: \(rssBefore / 1024) MiB before, \(rssPeak / 1024) MiB at most under load, \(rssAfter / 1024) MiB after
      """)
    // The 1,400 clients run in this process on the same 2 cores and keep both busy (in CI: 10 s
    // of server CPU and 14 s of this process's over the loaded phase), so Envoy itself waits for
    // a core and some slowdown is theirs, not the server's: allowed is 2x or half a second more,
    // whichever is more. (Medians seen on the 2-core machine: 0.11-0.45 s; a server that let the
    // misbehaving clients hold up the healthy stream takes seconds or never converges.)
    let allowed = max(median(unloaded) * 2, median(unloaded) + .milliseconds(500))
    #expect(median(loaded) <= allowed, "the misbehaving clients slowed the healthy sidecar beyond \(allowed)")
    #expect(rssAfter - rssBefore < 24 * 1024, "memory grew by \((rssAfter - rssBefore) / 1024) MiB and stayed")
    #expect(try await mesh.call("payments").status == 201, "the gateway is unaffected")
    let streams = mesh.server.log.components(separatedBy: "xDS stream opened").count - 1
    print("streams the server opened in all: \(streams)")
    #expect(streams > 500, "the load was real")
  }
}

func selfCPU() -> Double {
  let stat = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
  let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
  guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
  return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}
