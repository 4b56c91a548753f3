import Foundation
import TestSupport
import Testing

/// Services outside the mesh behind the terminating gateway, beside the Lambda ones: real
/// Envoy sidecar and gateway, plain HTTP and TLS the gateway originates (its certificate checked).
@Suite("End to end: terminating gateway for services outside the mesh", .serialized)
struct GatewayServicesTests {
  @Test("sidecar -> gateway -> external HTTP service, plain and with TLS origination; intentions deny and allow")
  func externalServices() async throws {
    let tlsDirectory = testRunDirectory.appendingPathComponent("ext-tls-\(UUID().uuidString.prefix(8))")
    let made = try ChildRun.run(
      try PythonServer.interpreter(),
      [EnvoyProcess.projectRoot.appendingPathComponent("Tests/simulators/make_certificate.py").path,
       "--dns", "ext-tls.test", "--out", tlsDirectory.path])
    #expect(made.status == 0, "\(made.stderr)")
    let plain = try MeshApp.start(name: "ext")
    defer { plain.stop() }
    let secure = try MeshApp.start(
      name: "ext-tls",
      tls: (tlsDirectory.appendingPathComponent("server.pem").path, tlsDirectory.appendingPathComponent("server-key.pem").path))
    defer { secure.stop() }
    let caFile = tlsDirectory.appendingPathComponent("ca.pem").path
    let mesh = try await MeshDeployment.start { document in
      for (app, name) in [(plain, "ext"), (secure, "ext-tls")] {
        document.registrations.append([
          "Node": "external", "Address": "127.0.0.1", "NodeMeta": ["external-node": "true"],
          "Service": ["ID": name, "Service": name, "Port": app.port],
        ])
        document.configEntries.append(["Kind": "service-defaults", "Name": name, "Protocol": "http"])
      }
      document.entry("terminating-gateway", "terminating-gateway") {
        $0["Services"] = [["Name": "payments"], ["Name": "ext"], ["Name": "ext-tls", "CAFile": caFile, "SNI": "ext-tls.test"]]
      }
      document.registration("api-sidecar-proxy") { registration in
        var service = registration["Service"] as! [String: Any]
        var proxy = service["Proxy"] as! [String: Any]
        proxy["Upstreams"] = (proxy["Upstreams"] as! [[String: Any]])
          + [["DestinationName": "ext", "LocalBindPort": 1], ["DestinationName": "ext-tls", "LocalBindPort": 1]]
        service["Proxy"] = proxy
        registration["Service"] = service
      }
    }
    defer { mesh.stop() }
    for name in ["ext", "ext-tls"] {
      let answer = try await poll("\(name) through the gateway", timeout: 30) { () -> MeshApp.Answer? in
        let (status, answer) = await mesh.meshCall(name, path: "/orders")
        return status == 200 ? answer : nil
      }
      #expect(answer.service == name && answer.path == "/orders")
      // The gateway, not a sidecar of the service, forwarded the caller's mesh identity.
      #expect(answer.caller?.hasSuffix("/svc/api") == true, "\(answer)")
    }
    let payments = try await mesh.call("payments")
    #expect(payments.status == 201, "the Lambda service on the same gateway still answers: \(payments.status) \(payments.body)")

    try mesh.editCatalog { document in
      document.entry("service-intentions", "ext") { $0["Sources"] = [["Name": "api", "Action": "deny"]] }
    }
    try await eventually("ext denied at the gateway", timeout: 20) { await mesh.meshCall("ext").status == 403 }
    #expect(await mesh.meshCall("ext-tls").status == 200)
    try mesh.editCatalog { document in
      document.entry("service-intentions", "ext") { $0["Sources"] = [["Name": "api", "Action": "allow"]] }
    }
    try await eventually("ext allowed again", timeout: 20) { await mesh.meshCall("ext").status == 200 }

    // The gateway checks the service's certificate: another SNI than the certificate's fails.
    try mesh.editCatalog { document in
      document.entry("terminating-gateway", "terminating-gateway") {
        $0["Services"] = [["Name": "payments"], ["Name": "ext"], ["Name": "ext-tls", "CAFile": caFile, "SNI": "other.test"]]
      }
    }
    try await eventually("a certificate for another name refused", timeout: 20) { await mesh.meshCall("ext-tls").status == 503 }
    #expect(await mesh.meshCall("ext").status == 200)
  }
}
