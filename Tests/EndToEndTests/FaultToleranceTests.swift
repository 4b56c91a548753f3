import Foundation
import TestSupport
import Testing

/// Faults under connected, real Envoys: Consul failing for a minute in three ways, an index reset,
/// and lambda-xds itself killed and restarted. What an operator assumes of Consul itself: an
/// outage costs nothing but staleness, and ends as soon as Consul is back.
@Suite("End to end: faults", .serialized)
struct FaultToleranceTests {
  static let outage: Double = 60

  @Test("Consul failing with 500s, refusing connections, then hanging, 60 s each: Envoy keeps its configuration and traffic, a change after each arrives within about a second")
  func consulOutages() async throws {
    let mesh = try await MeshDeployment.start(consulMode: true)
    defer { mesh.stop() }
    let consul = try #require(mesh.consul)
    try await mesh.bothLambdaPathsAnswer()
    var asynchronous = false
    for fault in ["error_seconds", "refuse_seconds", "hang_seconds"] {
      let before = (try await mesh.sidecar.configView().versions, try await mesh.gateway.configView().versions)
      try await consul.put("/_sim/faults", json: #"{"\#(fault)": \#(Self.outage)}"#)
      let start = ContinuousClock.now
      var calls = 0
      while ContinuousClock.now - start < .seconds(Self.outage) {
        #expect(try await mesh.call("authentication").status == (asynchronous ? 202 : 200), "\(fault): direct path")
        #expect(try await mesh.call("payments").status == 201, "\(fault): through the gateway")
        let now = (try await mesh.sidecar.configView().versions, try await mesh.gateway.configView().versions)
        #expect(now.0 == before.0 && now.1 == before.1, "\(fault): Envoy's configuration changed during the outage")
        calls += 2
        try await Task.sleep(for: .seconds(2))
      }
      // Consul is back: the first write that goes through is the change.
      asynchronous.toggle()
      let entry = #"{"Kind":"service-defaults","Name":"authentication","Protocol":"http","EnvoyExtensions":[{"Name":"builtin/aws/lambda","Arguments":{"ARN":"arn:aws:lambda:us-east-1:123456789012:function:authentication","PayloadPassthrough":true,"InvocationMode":"\#(asynchronous ? "asynchronous" : "synchronous")"}}]}"#
      try await eventually("Consul takes writes again", timeout: 30) { (try? await consul.put("/v1/config", json: entry)) != nil }
      let changed = ContinuousClock.now
      try await eventually("the change reaches the sidecar", timeout: 20, every: 0.05) {
        try await mesh.call("authentication").status == (asynchronous ? 202 : 200)
      }
      let took = ContinuousClock.now - changed
      print("\(fault) for \(Int(Self.outage)) s: \(calls) requests, all answered, configuration unchanged; a change after it reached Envoy in \(took)")
      #expect(took < .seconds(2), "\(fault): the change took \(took)")
    }
  }

  @Test("an index reset in steady state: a change after it still arrives, well before any blocking query times out")
  func indexReset() async throws {
    let mesh = try await MeshDeployment.start(consulMode: true)
    defer { mesh.stop() }
    let consul = try #require(mesh.consul)
    try await eventually("direct path", timeout: 30) { try await mesh.call("authentication").status == 200 }
    try await consul.put("/_sim/faults", json: #"{"reset_index": 3}"#)
    let reset = ContinuousClock.now
    try await consul.put(
      "/v1/config",
      json: #"{"Kind":"service-defaults","Name":"authentication","Protocol":"http","EnvoyExtensions":[{"Name":"builtin/aws/lambda","Arguments":{"ARN":"arn:aws:lambda:us-east-1:123456789012:function:authentication","InvocationMode":"asynchronous"}}]}"#)
    try await eventually("the change after the reset", timeout: 20, every: 0.05) { try await mesh.call("authentication").status == 202 }
    print("an index reset, then a change: in Envoy after \(ContinuousClock.now - reset)")
    #expect(try await mesh.call("payments").status == 201, "nothing else lost")
  }

  @Test("lambda-xds killed (SIGKILL) and restarted under connected Envoys: traffic never stops, and Envoy applies no change")
  func restartIsInvisible() async throws {
    let mesh = try await MeshDeployment.start(sidecarDelta: true)
    defer { mesh.stop() }
    try await mesh.bothLambdaPathsAnswer()
    let before = (try await mesh.sidecar.configView(), try await mesh.gateway.configView())
    let traffic = Task { () -> (sent: Int, failed: [String]) in
      var sent = 0
      var failed: [String] = []
      let deadline = Date().addingTimeInterval(6)
      while Date() < deadline {
        for (upstream, expected) in [("authentication", 200), ("payments", 201)] {
          let status = (try? await mesh.call(upstream).status) ?? -1
          sent += 1
          if status != expected { failed.append("\(upstream): \(status)") }
        }
      }
      return (sent, failed)
    }
    try await Task.sleep(for: .milliseconds(500))
    mesh.server.kill()
    try await Task.sleep(for: .seconds(1))
    try await mesh.server.restart()
    let result = await traffic.value
    print("requests while lambda-xds was killed and restarted: \(result.sent), failed: \(result.failed.count)")
    #expect(result.sent > 20 && result.failed.isEmpty, "\(result.failed)")

    // Both Envoys reconnect (the delta sidecar and the state-of-the-world gateway) and change nothing.
    try await eventually("both Envoys are connected again and have acknowledged what they were sent", timeout: 30) {
      for node in ["api-sidecar-proxy", "terminating-gateway"] {
        let body = try await HTTP.get("\(mesh.server.adminURL)/v1/proxies/\(node)/status").body
        guard let status = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
          (status["streams"] as? Int ?? 0) > 0, let types = status["types"] as? [String: [String: Any]],
          types.values.allSatisfy({ $0["lastSentVersion"] as? String == $0["ackedVersion"] as? String })
        else { return false }
      }
      return true
    }
    let after = (try await mesh.sidecar.configView(), try await mesh.gateway.configView())
    #expect(after.0.versions == before.0.versions && after.1.versions == before.1.versions, "identical versions")
    #expect(after.0.lastUpdated == before.0.lastUpdated, "the delta sidecar was sent nothing new")
    #expect(after.1.lastUpdated == before.1.lastUpdated, "the gateway applied nothing new")
  }

  @Test("Consul's leaf certificates arrive late: a proxy's first configuration waits for them and is complete; past the wait it is served what is ready")
  func firstConfigurationWaitsForCertificates() async throws {
    // Every leaf takes 1.5 s to sign, well after the catalog is known.
    let mesh = try await MeshDeployment.start(consulMode: true, consulFaults: #"{"leaf_delay_ms": 1500}"#)
    defer { mesh.stop() }
    try await eventually("payments through the gateway", timeout: 30) { try await mesh.call("payments").status == 201 }
    func listenerResponses(_ node: String) async throws -> Int {
      let body = try await HTTP.get("\(mesh.server.adminURL)/v1/proxies/\(node)/status").body
      let status = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
      return ((status?["types"] as? [String: [String: Any]])?["LDS"]?["responsesSent"] as? Int) ?? 0
    }
    for node in ["api-sidecar-proxy", "terminating-gateway"] {
      #expect(try await listenerResponses(node) == 1, "\(node) got its listeners once, complete, not a partial set first")
    }
    let listeners = try await mesh.sidecar.configView().listeners.keys
    #expect(listeners.contains { $0.hasPrefix("public_listener:") } && listeners.contains { $0.hasPrefix("payments:") })

    // A leaf that never comes (no service:write for api): after --certificate-wait the sidecar
    // is served what is ready, and the log says why.
    let denied = try await MeshDeployment.start(
      consulMode: true, serveArguments: ["--certificate-wait", "2"], consulFaults: #"{"leaf_delay_ms": 60000}"#)
    defer { denied.stop() }
    let waited = ContinuousClock.now
    try await eventually("the direct path answers anyway", timeout: 30) { try await denied.call("authentication").status == 200 }
    #expect(ContinuousClock.now - waited > .seconds(1.5), "not before the wait ran out")
    #expect(denied.server.log.contains("proxy served before its mesh certificates arrived"))
  }
}
