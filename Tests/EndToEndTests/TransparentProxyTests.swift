import Foundation
import TestSupport
import Testing

/// Transparent proxy for real: the `web` sidecar's Envoy runs in a network namespace of the
/// test's own, with the iptables redirect `consul connect redirect-traffic` installs, and an
/// application there (another UID) dials virtual IPs without knowing about the mesh.
@Suite(
  "End to end: transparent proxy in a network namespace", .serialized,
  .enabled(if: NetworkNamespace.unavailableReason == nil, "\(NetworkNamespace.unavailableReason ?? "")"))
struct TransparentProxyTests {
  static let apiVIP = "240.0.0.3"
  static let lambdaVIP = "240.0.0.10"
  static let sidecarKey = "AKIDWEBSIDECAREXAMPLE"
  static let secret = "web/K7MDENG+bPxRfiCYEXAMPLEKEY"
  /// The application's UID inside the namespace (nobody); Envoy runs as root, the proxy UID.
  static let appUID = 65534

  @Test("a client dialling a virtual IP reaches api through mTLS, a Lambda VIP is signed by the sidecar, anything else passes through")
  func virtualIPs() async throws {
    let namespace = try NetworkNamespace.create()
    defer { namespace.stop() }
    let host = namespace.hostAddress
    let api = try MeshApp.start(name: "api")
    defer { api.stop() }
    let outside = try MeshApp.start(name: "outside", host: host)
    defer { outside.stop() }
    let standIn = try LambdaStandIn.start(credentials: [Self.sidecarKey: Self.secret], host: host)
    defer { standIn.stop() }

    let directory = testRunDirectory.appendingPathComponent("tproxy-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let catalog = directory.appendingPathComponent("catalog.json")
    let apiPublic = freePort()
    try Self.catalog(host: host, inside: namespace.address, apiPublic: apiPublic, apiApp: api.port)
      .write(to: catalog, atomically: true, encoding: .utf8)
    let server = try await LambdaXDSProcess.serve(
      ["--catalog-file", catalog.path, "--data-dir", directory.appendingPathComponent("data").path, "--lambda-endpoint", standIn.url],
      xdsHost: host)
    defer { server.stop() }
    let apiSidecar = try await EnvoyProcess.start(
      name: "tproxy-api", bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy"))
    defer { apiSidecar.stop() }
    let webSidecar = try await EnvoyProcess.start(
      name: "tproxy-web",
      bootstrapJSON: try server.bootstrap(nodeID: "web-sidecar-proxy", adminAddress: "\(namespace.address):0"),
      environment: ["AWS_ACCESS_KEY_ID": Self.sidecarKey, "AWS_SECRET_ACCESS_KEY": Self.secret], namespace: namespace)
    defer { webSidecar.stop() }
    try namespace.redirectOutbound(toPort: 15001, proxyUID: 0)

    // The application, as another user inside the namespace: plain HTTP to an address.
    func curl(_ url: String, _ extra: [String] = []) throws -> String? {
      let run = try namespace.run(["/usr/bin/curl", "-s", "-f", "-m", "5", url] + extra, user: Self.appUID, timeout: 15)
      return run.status == 0 ? run.stdout : nil
    }
    let answer = try await poll("api answers on its virtual IP", timeout: 30) { () -> MeshApp.Answer? in
      try curl("http://\(Self.apiVIP)/orders").flatMap { try? JSONDecoder().decode(MeshApp.Answer.self, from: Data($0.utf8)) }
    }
    #expect(answer.service == "api" && answer.path == "/orders")
    #expect(answer.caller == "spiffe://\(MeshDeployment.trustDomain)/ns/default/dc/dc1/svc/web", "through web's sidecar, over mTLS")

    let invoked = try #require(try curl("http://\(Self.lambdaVIP)/login", ["-X", "POST", "-d", "{}"]))
    #expect(invoked.contains("function:authentication") && invoked.contains(Self.sidecarKey), "\(invoked)")
    let invocations = try await standIn.invocations()
    #expect(!invocations.isEmpty && invocations.allSatisfy { $0.signature_valid && $0.access_key_id == Self.sidecarKey })

    let passthrough = try #require(try curl("http://\(host):\(outside.port)/plain"))
    #expect(passthrough.contains(#""service": "outside""#) && passthrough.contains(#""caller": null"#), "\(passthrough)")
    // The redirect is real: the outbound listener's chains counted these connections.
    let stats = try await webSidecar.admin("/stats?filter=upstream.api.default.default.dc1.downstream_rq_total")
    #expect(!stats.contains(": 0") && stats.contains("downstream_rq_total"), "\(stats)")
  }

  /// web (transparent, in the namespace), api (its sidecar on our end of the veth pair, a VIP)
  /// and a direct Lambda with a VIP.
  static func catalog(host: String, inside: String, apiPublic: Int, apiApp: Int) -> String {
    """
    {"datacenter": "dc1", "trust_domain": "\(MeshDeployment.trustDomain)",
     "registrations": [
      {"Node": "web-node", "Address": "\(inside)", "Service": {"ID": "web", "Service": "web", "Port": 8080}},
      {"Node": "web-node", "Address": "\(inside)", "Service": {"Kind": "connect-proxy", "ID": "web-sidecar-proxy",
        "Service": "web-sidecar-proxy", "Address": "\(inside)", "Port": \(freePort()),
        "Proxy": {"DestinationServiceName": "web", "LocalServicePort": 8080, "Mode": "transparent"}}},
      {"Node": "api-node", "Address": "\(host)", "Service": {"ID": "api", "Service": "api", "Port": \(apiApp)}},
      {"Node": "api-node", "Address": "\(host)", "Service": {"Kind": "connect-proxy", "ID": "api-sidecar-proxy",
        "Service": "api-sidecar-proxy", "Address": "\(host)", "Port": \(apiPublic),
        "TaggedAddresses": {"consul-virtual": {"Address": "\(apiVIP)", "Port": 0}},
        "Proxy": {"DestinationServiceName": "api", "LocalServicePort": \(apiApp)}}},
      {"Node": "lambdas", "Service": {"ID": "authentication", "Service": "authentication",
        "TaggedAddresses": {"consul-virtual": {"Address": "\(lambdaVIP)", "Port": 0}}}}
     ],
     "config_entries": [
      {"Kind": "service-defaults", "Name": "api", "Protocol": "http"},
      {"Kind": "service-defaults", "Name": "authentication", "Protocol": "http", "EnvoyExtensions": [
        {"Name": "builtin/aws/lambda", "Arguments": {"ARN": "arn:aws:lambda:us-east-1:123456789012:function:authentication"}}]}
     ]}
    """
  }
}
