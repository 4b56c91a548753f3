import Foundation
import TestSupport
import Testing

/// Stopping `serve` the way an orchestrator does, with real Envoys connected.
@Suite("Lifecycle")
struct LifecycleTests {
  @Test("SIGTERM: not ready at once, open streams drained, exit 0 within the drain time; Envoy keeps serving")
  func drainOnSIGTERM() async throws {
    let mesh = try await MeshDeployment.start(serveArguments: ["--drain-seconds", "5"])
    defer { mesh.stop() }
    try await eventually("payments reachable", timeout: 30) { try await mesh.call("payments").status == 201 }
    try await eventually("ready", timeout: 10) { try await HTTP.get("\(mesh.server.adminURL)/readyz").status == 200 }

    let started = Date()
    mesh.server.sendTerminate()
    let draining = try await poll("/readyz 503 while draining", timeout: 10, every: 0.05) { () -> String? in
      let (status, body) = try await HTTP.get("\(mesh.server.adminURL)/readyz")
      return status == 503 ? body : nil
    }
    #expect(draining == "not ready: draining\n")
    let status = mesh.server.waitForExit(timeout: 30)
    let seconds = Date().timeIntervalSince(started)
    #expect(status == 0, "\(mesh.server.log.suffix(2000))")
    // The connected Envoys' streams kept it for the drain time, and not much longer.
    #expect(seconds >= 4.5 && seconds < 20, "exit after \(seconds) s (drain 5 s)")
    #expect(mesh.server.log.contains("draining: no new xDS streams"))

    // Envoy keeps its last configuration: both Lambda paths still answer, signed as before.
    #expect(try await mesh.sidecar.admin("/stats?filter=control_plane.connected_state").contains("connected_state: 0"))
    #expect(try await mesh.call("payments").status == 201)
    #expect(try await mesh.signer(of: "authentication") == MeshDeployment.sidecarKey)
  }

  @Test("two replicas on one Consul: the same resources and versions; kill the one an Envoy uses, it fails over and applies nothing new")
  func replicasFailOver() async throws {
    let mesh = try await MeshDeployment.start(sidecarDelta: true, consulMode: true, replicas: 2)
    defer { mesh.stop() }
    let replica = try #require(mesh.replica)
    try await mesh.bothLambdaPathsAnswer()
    // Stateless replicas: what each holds for every proxy is byte for byte the same (resources,
    // state-of-the-world versions and delta's per-resource versions alike).
    for node in ["api-sidecar-proxy", "terminating-gateway", "web-sidecar-proxy", "db-sidecar-proxy"] {
      let ours = try await HTTP.get("\(mesh.server.adminURL)/v1/proxies/\(node)/config_dump").body
      let theirs = try await HTTP.get("\(replica.adminURL)/v1/proxies/\(node)/config_dump").body
      #expect(ours == theirs && ours.contains("version_info"), "\(node) differs between the replicas")
    }

    func streams(_ server: LambdaXDSProcess, _ node: String) async throws -> Int {
      let body = try await HTTP.get("\(server.adminURL)/v1/proxies/\(node)/status").body
      let status = try JSONSerialization.jsonObject(with: Data(body.utf8), options: .fragmentsAllowed) as? [String: Any]
      return status?["streams"] as? Int ?? 0
    }
    let sidecarOnFirst = try await streams(mesh.server, "api-sidecar-proxy") > 0
    let (used, other) = sidecarOnFirst ? (mesh.server, replica) : (replica, mesh.server)
    let before = try await mesh.sidecar.configView()
    used.kill()
    try await eventually("the sidecar on the other replica, everything acknowledged", timeout: 30) {
      let body = try await HTTP.get("\(other.adminURL)/v1/proxies/api-sidecar-proxy/status").body
      guard let status = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
        (status["streams"] as? Int ?? 0) > 0, let types = status["types"] as? [String: [String: Any]], !types.isEmpty,
        types.values.allSatisfy({ $0["lastSentVersion"] as? String == $0["ackedVersion"] as? String })
      else { return false }
      return true
    }
    let after = try await mesh.sidecar.configView()
    #expect(after.versions == before.versions, "identical versions")
    #expect(after.lastUpdated == before.lastUpdated, "the sidecar applied nothing new")
    // Both paths still answer. Polled: with the whole suite saturating both cores, one call
    // through the gateway right after the kill has failed once (a full CI run), never alone.
    try await eventually("authentication answers", timeout: 15, every: 0.5) { try await mesh.call("authentication").status == 200 }
    try await eventually("payments answers", timeout: 15, every: 0.5) { try await mesh.call("payments").status == 201 }
  }

  @Test("--register-in-consul: the replica is in Consul's health with a passing /readyz check, and leaves on SIGTERM before it drains")
  func registersInConsul() async throws {
    let consul = try await ConsulSimulator.start()
    defer { consul.stop() }
    try await consul.load(catalogFile: EnvoyProcess.projectRoot.appendingPathComponent("envoy-configs/catalog.json").path)
    let server = try await LambdaXDSProcess.serve([
      "--consul-address", consul.address, "--register-in-consul", "--drain-seconds", "3",
    ])
    defer { server.stop() }
    func registered(passing: Bool) async throws -> [[String: Any]] {
      let body = try await HTTP.get("http://\(consul.address)/v1/health/service/lambda-xds\(passing ? "?passing" : "")").body
      let entries = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]] ?? []
      return entries.compactMap { $0["Service"] as? [String: Any] }
    }
    let services = try await poll("lambda-xds passing in Consul", timeout: 90) { () -> [[String: Any]]? in
      let services = try await registered(passing: true)
      return services.isEmpty ? nil : services
    }
    #expect(services.count == 1)
    #expect(services.first?["ID"] as? String == "lambda-xds-127.0.0.1-\(server.xdsPort)")
    #expect(services.first?["Port"] as? Int == server.xdsPort)

    // Consul's side in the metrics: the watches' and the registration's requests, the leaves' expiry.
    let metrics = try await HTTP.get("\(server.adminURL)/metrics").body
    for sample in [
      #"lambda_xds_consul_requests_total{endpoint="health/service",code="200"}"#,
      #"lambda_xds_consul_requests_total{endpoint="agent/service",code="200"}"#,
      #"lambda_xds_consul_request_seconds_count{endpoint="connect/ca"}"#,
      #"lambda_xds_certificate_expiry_timestamp_seconds{service="api"}"#,
    ] {
      #expect(metrics.contains(sample + " "), "\(sample) in \(metrics)")
    }
    server.sendTerminate()
    try await eventually("deregistered", timeout: 10) { try await registered(passing: false).isEmpty }
    #expect(server.waitForExit(timeout: 20) == 0)
    // Out of Consul first, then the drain.
    let log = server.log
    let deregistered = try #require(log.range(of: "deregistered from Consul"))
    let draining = try #require(log.range(of: "draining: no new xDS streams"))
    #expect(deregistered.lowerBound < draining.lowerBound)
  }

  @Test("a replica that returns gets its share back: the other ends its streams above the fair share and refuses them")
  func rebalanceAfterReturn() async throws {
    let mesh = try await MeshDeployment.start(
      consulMode: true, meshSidecars: true, serveArguments: ["--register-in-consul"], replicas: 2)
    defer { mesh.stop() }
    let replica = try #require(mesh.replica)
    func open(_ server: LambdaXDSProcess) async throws -> Int {
      let body = try await HTTP.get("\(server.adminURL)/v1/streams").body
      return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["open"] as? Int ?? -1
    }
    try await eventually("all four Envoys connected", timeout: 30) {
      try await open(mesh.server) + open(replica) == 4
    }
    // The replica leaves: every Envoy is on the first one.
    replica.kill()
    // Envoy reconnects with exponential backoff (with jitter) from each failed attempt at the
    // killed replica, so on a loaded machine the last one can take more than 30 s.
    try await eventually("all four on the first replica", timeout: 75) { try await open(mesh.server) == 4 }
    // It returns (and passes its check): the first sheds down to its fair share, 4 / 2 x 1.1 -> 3.
    try await replica.restart()
    try await eventually("streams moved to the returning replica", timeout: 60) {
      let (first, second) = (try await open(mesh.server), try await open(replica))
      return first <= 3 && second >= 1 && first + second == 4
    }
    #expect(mesh.server.log.contains("rebalancing: streams ended above this replica's fair share"))
    #expect(try await mesh.call("payments").status == 201)
    #expect(try await mesh.call("authentication").status == 200)
  }
}
