import Foundation
import TestSupport
import Testing

/// Ordinary mesh traffic through real Envoy 1.40 sidecars configured by `lambda-xds serve`:
/// what a sidecar must keep doing when it is pointed at lambda-xds instead of Consul.
@Suite("End to end: mesh traffic between sidecars", .serialized)
struct MeshTrafficTests {
  static let web = "spiffe://\(MeshDeployment.trustDomain)/ns/default/dc/dc1/svc/web"

  @Test("web -> mTLS -> api's public listener -> api's app, with web's identity; a deny is a 403 within seconds, allow restores")
  func inboundIntentions() async throws {
    let mesh = try await MeshDeployment.start(meshSidecars: true)
    defer { mesh.stop() }
    let answer = try await poll("api answers web", timeout: 30) { () -> MeshApp.Answer? in
      let response = await mesh.meshCall("api", path: "/orders?id=7")
      return response.status == 200 ? response.answer : nil
    }
    #expect(answer.service == "api" && answer.method == "GET" && answer.path == "/orders?id=7")
    #expect(answer.caller == Self.web, "the app sees the caller's identity in x-forwarded-client-cert")

    let pids = (mesh.web!.pid, mesh.sidecar.pid)
    try mesh.editCatalog { $0.entry("service-intentions", "api") { $0["Sources"] = [["Name": "web", "Action": "deny"]] } }
    let denying = ContinuousClock.now
    try await eventually("web is denied", timeout: 10) { await mesh.meshCall("api").status == 403 }
    print("an intention deny reached api's sidecar after \(ContinuousClock.now - denying)")
    for _ in 0..<5 { #expect(await mesh.meshCall("api").status == 403) }

    try mesh.editCatalog { $0.entry("service-intentions", "api") { $0["Sources"] = [["Name": "web", "Action": "allow"]] } }
    try await eventually("web is allowed again", timeout: 10) { await mesh.meshCall("api").status == 200 }
    #expect(pids == (mesh.web!.pid, mesh.sidecar.pid), "no Envoy was restarted")

    // The same api sidecar still reaches both Lambda paths.
    #expect(try await mesh.call("authentication").status == 200)
    try await eventually("payments through the gateway", timeout: 20) { try await mesh.call("payments").status == 201 }
  }

  @Test("api -> db over TCP reaches db's app; db turning critical removes it from api's endpoints; a deny closes connections")
  func tcpUpstream() async throws {
    let mesh = try await MeshDeployment.start(meshSidecars: true)
    defer { mesh.stop() }
    let answer = try await poll("db answers api", timeout: 30) { () -> MeshApp.Answer? in
      let response = await mesh.meshCall("db")
      return response.status == 200 ? response.answer : nil
    }
    #expect(answer.service == "db" && answer.caller == nil, "TCP forwards no identity header")
    let cluster = "db.default.dc1.internal.\(MeshDeployment.trustDomain)"
    func dbHealth() async throws -> [String] {
      try await mesh.sidecar.admin("/clusters").split(separator: "\n")
        .filter { $0.hasPrefix("\(cluster)::") && $0.contains("::health_flags::") }.map(String.init)
    }
    let healthy = try await dbHealth()
    #expect(!healthy.isEmpty && healthy.allSatisfy { $0.hasSuffix("::healthy") }, "\(healthy)")

    func setCheck(_ status: String) throws {
      try mesh.editCatalog { document in
        document.registration("db-sidecar-proxy") {
          $0["Checks"] = [["CheckID": "db-sidecar-alive", "Name": "Connect Sidecar Listening", "Status": status, "ServiceID": "db-sidecar-proxy"]]
        }
      }
    }
    try setCheck("critical")
    try await eventually("api's Envoy marks db unhealthy", timeout: 10) {
      let health = try await dbHealth()
      return !health.isEmpty && health.allSatisfy { $0.contains("failed_eds_health") }
    }
    for _ in 0..<3 { #expect(await mesh.meshCall("db").status != 200, "a critical instance gets no traffic (panic routing off)") }
    try setCheck("passing")
    try await eventually("db serves again", timeout: 10) { await mesh.meshCall("db").status == 200 }

    try mesh.editCatalog { $0.entry("service-intentions", "db") { $0["Sources"] = [["Name": "api", "Action": "deny"]] } }
    try await eventually("api's connections to db are closed", timeout: 10) { await mesh.meshCall("db").status == -1 }
    try mesh.editCatalog { $0.entry("service-intentions", "db") { $0["Sources"] = [["Name": "api", "Action": "allow"]] } }
    try await eventually("api may connect again", timeout: 10) { await mesh.meshCall("db").status == 200 }
  }

  @Test("Consul mode: the same mesh from the Consul simulator's health view; a check turning critical there reaches api's Envoy")
  func consulMode() async throws {
    let mesh = try await MeshDeployment.start(consulMode: true, meshSidecars: true)
    defer { mesh.stop() }
    let consul = try #require(mesh.consul)
    let answer = try await poll("api answers web", timeout: 30) { () -> MeshApp.Answer? in
      let response = await mesh.meshCall("api")
      return response.status == 200 ? response.answer : nil
    }
    #expect(answer.caller == Self.web)
    try await eventually("db answers api", timeout: 30) { await mesh.meshCall("db").status == 200 }
    // Re-register db's sidecar with a critical check, as Consul's agent would report it.
    let document = try JSONSerialization.jsonObject(with: Data(contentsOf: mesh.catalogFile)) as! [String: Any]
    var registration = (document["registrations"] as! [[String: Any]]).first {
      ($0["Service"] as? [String: Any])?["ID"] as? String == "db-sidecar-proxy"
    }!
    registration["Checks"] = [["CheckID": "db-sidecar-alive", "Status": "critical", "ServiceID": "db-sidecar-proxy"]]
    try await consul.put("/v1/catalog/register", json: String(decoding: try JSONSerialization.data(withJSONObject: registration), as: UTF8.self))
    try await eventually("db is refused once critical", timeout: 10) { await mesh.meshCall("db").status != 200 }
    #expect(await mesh.meshCall("api").status == 200, "other upstreams are untouched")
  }
}
