import Foundation
import TestSupport
#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif
import Testing

/// Two WAN-federated datacenters, each with its own Consul (simulator) and its own lambda-xds,
/// as Consul's servers do: a dc2 sidecar reaches a Lambda function and a plain service behind
/// dc1's terminating gateway through both datacenters' mesh gateways (real Envoys throughout).
@Suite("End to end: two datacenters through mesh gateways", .serialized)
struct DatacentersTests {
  static let gatewayKey = "AKIDGATEWAYEXAMPLE"
  static let secrets = [gatewayKey: "gateway/secret/key/EXAMPLE"]
  static let trustDomain = "11111111-2222-3333-4444-555555555555.consul"

  @Test("sidecar (dc2) -> mesh gateway (dc2) -> mesh gateway (dc1) -> terminating gateway (dc1) -> Lambda and a plain service")
  func acrossDatacenters() async throws {
    let directory = testRunDirectory.appendingPathComponent("datacenters-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let standIn = try LambdaStandIn.start(credentials: Self.secrets)
    defer { standIn.stop() }
    let plain = try MeshApp.start(name: "ext")
    defer { plain.stop() }
    let (consulPort1, consulPort2) = (freePort(), freePort())
    let ca = directory.appendingPathComponent("ca").path
    let dc1 = try await ConsulSimulator.start(arguments: [
      "--port", "\(consulPort1)", "--datacenter", "dc1", "--ca-dir", ca, "--wan", "dc2=http://127.0.0.1:\(consulPort2)",
    ])
    defer { dc1.stop() }
    let dc2 = try await ConsulSimulator.start(arguments: [
      "--port", "\(consulPort2)", "--datacenter", "dc2", "--ca-dir", ca, "--wan", "dc1=http://127.0.0.1:\(consulPort1)",
    ])
    defer { dc2.stop() }

    let ports = ["tgw": freePort(), "mgw1": freePort(), "mgw2": freePort(), "web": freePort(), "payments": freePort(), "ext": freePort()]
    func meshGateway(_ id: String, port: Int) -> [String: Any] {
      let address: [String: Any] = ["Address": "127.0.0.1", "Port": port]
      return [
        "Node": "\(id)-node", "Address": "127.0.0.1",
        "Service": ["Kind": "mesh-gateway", "ID": id, "Service": "mesh-gateway", "Port": port,
                    "TaggedAddresses": ["lan": address, "wan": address]],
      ]
    }
    // Config entries replicate from the primary datacenter: both see the same ones.
    let entries: [[String: Any]] = [
      ["Kind": "service-defaults", "Name": "payments", "Protocol": "http",
       "Meta": ["serverless.consul.hashicorp.com/v1alpha1/lambda/enabled": "true",
                "serverless.consul.hashicorp.com/v1alpha1/lambda/arn": "arn:aws:lambda:us-east-1:123456789012:function:payments",
                "serverless.consul.hashicorp.com/v1alpha1/lambda/region": "us-east-1"]],
      ["Kind": "service-defaults", "Name": "ext", "Protocol": "http"],
      ["Kind": "terminating-gateway", "Name": "terminating-gateway", "Services": [["Name": "payments"], ["Name": "ext"]]],
    ]
    for consul in [dc1, dc2] {
      for entry in entries { try await consul.put("/v1/config", json: try Self.json(entry)) }
    }
    for registration: [String: Any] in [
      ["Node": "gateway-node", "Address": "127.0.0.1",
       "Service": ["Kind": "terminating-gateway", "ID": "terminating-gateway", "Service": "terminating-gateway", "Port": ports["tgw"]!]],
      meshGateway("mesh-gateway", port: ports["mgw1"]!),
      ["Node": "lambdas", "Address": "127.0.0.1", "Service": ["ID": "payments", "Service": "payments"]],
      ["Node": "external", "Address": "127.0.0.1", "NodeMeta": ["external-node": "true"],
       "Service": ["ID": "ext", "Service": "ext", "Port": plain.port]],
    ] {
      try await dc1.put("/v1/catalog/register", json: try Self.json(registration))
    }
    let upstream = { (name: String) -> [String: Any] in
      ["DestinationName": name, "Datacenter": "dc1", "LocalBindPort": ports[name]!, "MeshGateway": ["Mode": "local"]]
    }
    for registration: [String: Any] in [
      meshGateway("mesh-gateway-dc2", port: ports["mgw2"]!),
      ["Node": "web-node", "Address": "127.0.0.1", "Service": ["ID": "web", "Service": "web", "Port": freePort()]],
      ["Node": "web-node", "Address": "127.0.0.1",
       "Service": ["Kind": "connect-proxy", "ID": "web-sidecar-proxy", "Service": "web-sidecar-proxy", "Port": ports["web"]!,
                   "Proxy": ["DestinationServiceName": "web", "DestinationServiceID": "web", "LocalServicePort": 1,
                             "Upstreams": [upstream("payments"), upstream("ext")]]]],
    ] {
      try await dc2.put("/v1/catalog/register", json: try Self.json(registration))
    }

    let server1 = try await LambdaXDSProcess.serve(["--consul-address", dc1.address, "--lambda-endpoint", standIn.url])
    defer { server1.stop() }
    let server2 = try await LambdaXDSProcess.serve(["--consul-address", dc2.address])
    defer { server2.stop() }
    let credentials = ["AWS_ACCESS_KEY_ID": Self.gatewayKey, "AWS_SECRET_ACCESS_KEY": Self.secrets[Self.gatewayKey]!]
    let gateway = try await EnvoyProcess.start(
      name: "tgw-dc1", bootstrapJSON: try server1.bootstrap(nodeID: "terminating-gateway"), environment: credentials)
    defer { gateway.stop() }
    let mesh1 = try await EnvoyProcess.start(name: "mgw-dc1", bootstrapJSON: try server1.bootstrap(nodeID: "mesh-gateway"))
    defer { mesh1.stop() }
    let mesh2 = try await EnvoyProcess.start(name: "mgw-dc2", bootstrapJSON: try server2.bootstrap(nodeID: "mesh-gateway-dc2"))
    defer { mesh2.stop() }
    let sidecar = try await EnvoyProcess.start(name: "web-dc2", bootstrapJSON: try server2.bootstrap(nodeID: "web-sidecar-proxy"))
    defer { sidecar.stop() }

    func call(_ name: String, method: String = "POST") async -> (status: Int, body: String) {
      var request = URLRequest(url: URL(string: "http://127.0.0.1:\(ports[name]!)/orders")!)
      request.httpMethod = method
      request.setValue("close", forHTTPHeaderField: "connection")
      if method == "POST" { request.httpBody = Data(#"{"hello":"dc2"}"#.utf8) }
      guard let (status, _, body) = try? await HTTP.exchange(request, timeout: 5) else { return (-1, "") }
      return (status, body)
    }
    let lambda = try await poll("payments in dc1 from dc2", timeout: 60) { () -> String? in
      let (status, body) = await call("payments")
      return status == 200 || status == 201 ? body : nil
    }
    let invocation = try #require(try await standIn.invocations().last)
    #expect(invocation.signature_valid && invocation.access_key_id == Self.gatewayKey, "\(invocation) \(lambda)")
    #expect(invocation.body.contains("dc2"))

    let answer = try await poll("ext in dc1 from dc2", timeout: 30) { () -> MeshApp.Answer? in
      let (status, body) = await call("ext", method: "GET")
      return status == 200 ? try? JSONDecoder().decode(MeshApp.Answer.self, from: Data(body.utf8)) : nil
    }
    #expect(answer.service == "ext" && answer.path == "/orders")
    // The terminating gateway saw the dc2 caller's own identity, through both mesh gateways.
    #expect(answer.caller == "spiffe://\(Self.trustDomain)/ns/default/dc/dc2/svc/web", "\(answer)")

    // The traffic went through both mesh gateways, each by its SNI route.
    let remoteStats = try await mesh2.admin("/stats?filter=^cluster\\.dc1\\.internal.*upstream_cx_total$")
    #expect(Self.counter(remoteStats) > 0, "\(remoteStats)")
    let localStats = try await mesh1.admin("/stats?filter=^cluster\\.ext\\.default\\.dc1\\.internal.*upstream_cx_total$")
    #expect(Self.counter(localStats) > 0, "\(localStats)")
  }

  static func json(_ object: [String: Any]) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
  }

  /// The value of the one counter a filtered /stats answer lists (0 when none).
  static func counter(_ stats: String) -> Int {
    stats.split(separator: "\n").compactMap { $0.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }.reduce(0, +)
  }
}
