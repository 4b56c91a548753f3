import Foundation
import TestSupport
import Testing

/// The command line as a user meets it: bootstraps in envoy-configs/, dump and check.
@Suite("Command line")
struct CommandLineTests {
  static let example = EnvoyProcess.projectRoot.appendingPathComponent("envoy-configs/catalog.json").path

  @Test("envoy-configs/ bootstraps are what `lambda-xds bootstrap` prints, and Envoy accepts them")
  func shippedBootstraps() throws {
    for (node, admin) in [
      ("api-sidecar-proxy", "127.0.0.1:19000"), ("terminating-gateway", "127.0.0.1:19001"),
      ("web-sidecar-proxy", "127.0.0.1:19002"), ("db-sidecar-proxy", "127.0.0.1:19003"),
      ("mesh-gateway", "127.0.0.1:19004"),
    ] {
      let file = EnvoyProcess.projectRoot.appendingPathComponent("envoy-configs/\(node).json")
      let printed = try LambdaXDSProcess.run([
        "bootstrap", "--node-id", node, "--xds-address", "127.0.0.1:18000", "--admin-address", admin,
      ])
      #expect(printed.status == 0)
      #expect(
        try String(contentsOf: file, encoding: .utf8) == printed.stdout,
        "envoy-configs/\(node).json is stale: regenerate it with lambda-xds bootstrap --node-id \(node) --admin-address \(admin) --output envoy-configs/\(node).json")
      #expect(try EnvoyProcess.validate(bootstrapJSON: printed.stdout, name: "shipped-\(node)") == nil)
    }
    // Two replicas: both in one static cluster.
    let replicas = try LambdaXDSProcess.run([
      "bootstrap", "--node-id", "api-sidecar-proxy", "--xds-address", "127.0.0.1:18000", "--xds-address", "127.0.0.1:18001",
    ])
    let replicasFile = EnvoyProcess.projectRoot.appendingPathComponent("envoy-configs/replicas/sidecar-two-replicas.json")
    #expect(try String(contentsOf: replicasFile, encoding: .utf8) == replicas.stdout, "envoy-configs/replicas/sidecar-two-replicas.json is stale")
    #expect(replicas.stdout.contains(#""port_value":18000"#) && replicas.stdout.contains(#""port_value":18001"#))
    #expect(try EnvoyProcess.validate(bootstrapJSON: replicas.stdout, name: "shipped-replicas") == nil)
    let yaml = try LambdaXDSProcess.run(["bootstrap", "--node-id", "terminating-gateway", "--delta", "--format", "yaml"])
    #expect(yaml.status == 0 && yaml.stdout.contains("api_type: DELTA_GRPC"))
    #expect(try EnvoyProcess.validate(bootstrapJSON: yaml.stdout, name: "bootstrap-yaml", fileExtension: "yaml") == nil)
  }

  @Test("dump: config_dump JSON and YAML, a static bootstrap Envoy accepts, an unknown node lists the known ones")
  func dump() throws {
    let json = try LambdaXDSProcess.run(["dump", "--catalog-file", Self.example, "--node-id", "terminating-gateway"])
    #expect(json.status == 0)
    let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    let types = (document["configs"] as? [[String: Any]])?.compactMap { $0["@type"] as? String } ?? []
    #expect(types.map { $0.components(separatedBy: ".").last! } == [
      "ClustersConfigDump", "EndpointsConfigDump", "ListenersConfigDump", "RoutesConfigDump", "SecretsConfigDump",
    ])
    #expect(json.stdout.contains("\"[redacted]\"") && !json.stdout.contains("PRIVATE KEY"))

    let yaml = try LambdaXDSProcess.run(["dump", "--catalog-file", Self.example, "--node-id", "api-sidecar-proxy", "--format", "yaml"])
    #expect(yaml.status == 0 && yaml.stdout.contains("egress_gateway: true"))

    for node in ["api-sidecar-proxy", "terminating-gateway", "web-sidecar-proxy", "db-sidecar-proxy"] {
      let bootstrap = try LambdaXDSProcess.run(["dump", "--catalog-file", Self.example, "--node-id", node, "--as-bootstrap"])
      #expect(bootstrap.status == 0)
      #expect(try EnvoyProcess.validate(bootstrapJSON: bootstrap.stdout, name: "dump-\(node)") == nil)
    }

    let unknown = try LambdaXDSProcess.run(["dump", "--catalog-file", Self.example, "--node-id", "nobody-sidecar-proxy"])
    #expect(unknown.status == 1)
    #expect(unknown.stderr.contains("known proxies: api-sidecar-proxy, db-sidecar-proxy, mesh-gateway, terminating-gateway, web-sidecar-proxy"))
  }

  @Test("check: the example is clean; a broken catalog lists every problem and exits 1")
  func check() throws {
    let clean = try LambdaXDSProcess.run(["check", "--catalog-file", Self.example])
    #expect(clean.status == 0 && clean.stdout.contains("no problems found"))
    let broken = EnvoyProcess.projectRoot.appendingPathComponent("Tests/TranslationTests/Fixtures/catalogs/invalid.json").path
    let report = try LambdaXDSProcess.run(["check", "--catalog-file", broken])
    #expect(report.status == 1)
    for expected in ["the account id must be 12 digits", "Protocol is \"tcp\"", "did you mean", "both EnvoyExtensions", "no instance is healthy"] {
      #expect(report.stdout.contains(expected), "check output lacks \(expected)")
    }
  }

  @Test("check --iam: each signing proxy's policy; linking a service to the gateway moves its ARN there")
  func iamPolicies() throws {
    func policies(_ catalog: String) throws -> [String: [String]] {
      let run = try LambdaXDSProcess.run(["check", "--iam", "--catalog-file", catalog])
      #expect(run.status == 0, "\(run.stderr)")
      let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: [String: Any]])
      return try document.mapValues { policy in
        #expect(policy["Version"] as? String == "2012-10-17")
        let statements = try #require(policy["Statement"] as? [[String: Any]])
        #expect(statements.count == 1 && statements[0]["Effect"] as? String == "Allow")
        #expect(statements[0]["Action"] as? [String] == ["lambda:InvokeFunction"])
        return try #require(statements[0]["Resource"] as? [String])
      }
    }
    let authentication = "arn:aws:lambda:us-east-1:123456789012:function:authentication"
    let payments = "arn:aws:lambda:us-west-2:123456789012:function:payments"
    #expect(try policies(Self.example) == ["api-sidecar-proxy": [authentication], "terminating-gateway": [payments]])

    var document = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.example))) as? [String: Any])
    var entries = try #require(document["config_entries"] as? [[String: Any]])
    let gateway = try #require(entries.firstIndex { $0["Kind"] as? String == "terminating-gateway" })
    entries[gateway]["Services"] = [["Name": "payments"], ["Name": "authentication"]]
    document["config_entries"] = entries
    let linked = testRunDirectory.appendingPathComponent("iam-linked-\(UUID().uuidString.prefix(8)).json")
    try JSONSerialization.data(withJSONObject: document).write(to: linked)
    #expect(try policies(linked.path) == ["terminating-gateway": [authentication, payments]])
  }

  @Test("dump shows what each running Envoy holds: the same resources, and for delta the same versions")
  func dumpMatchesEnvoy() async throws {
    let mesh = try await MeshDeployment.start(sidecarDelta: true)
    defer { mesh.stop() }
    try await eventually("both upstreams answer", timeout: 30) {
      let direct = try await mesh.call("authentication").status
      let gated = try await mesh.call("payments").status
      return direct == 200 && gated == 201
    }
    for (node, envoy) in [("api-sidecar-proxy", mesh.sidecar), ("terminating-gateway", mesh.gateway)] {
      let dump = try LambdaXDSProcess.run([
        "dump", "--node-id", node, "--catalog-file", mesh.catalogFile.path, "--data-dir", mesh.dataDirectory.path,
        "--lambda-endpoint", mesh.standIn.url,
      ])
      #expect(dump.status == 0, "\(dump.stderr)")
      let ours = try EnvoyConfigView(json: dump.stdout)
      let theirs = try await envoy.configView()
      #expect(Set(ours.clusters.keys) == Set(theirs.clusters.keys), "\(node) clusters")
      #expect(Set(ours.listeners.keys) == Set(theirs.listeners.keys), "\(node) listeners")
      #expect(Set(ours.routes.keys) == Set(theirs.routes.keys), "\(node) routes")
      // Envoy also lists the inline endpoints of DNS and static clusters; ours are the EDS ones.
      #expect(Set(ours.endpoints.keys).isSubset(of: theirs.endpoints.keys), "\(node) endpoints")
      if node == "api-sidecar-proxy" {
        // Delta carries each resource's own version; the leaf secret differs (dump issues its own).
        #expect(ours.clusters == theirs.clusters, "cluster versions")
        #expect(ours.listeners == theirs.listeners, "listener versions")
      }
    }
  }

  @Test("dump --server shows what serve sent, the proxy's ACKs, and a NACK with Envoy's reason")
  func dumpServer() async throws {
    // A CA bundle Envoy cannot read makes it reject the Lambda clusters (a NACK).
    let server = try await LambdaXDSProcess.serve([
      "--catalog-file", Self.example, "--lambda-ca-bundle", "/nonexistent/lambda-xds-ca.pem",
    ])
    defer { server.stop() }
    let sidecar = try await EnvoyProcess.start(name: "nack-sidecar", bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy"))
    defer { sidecar.stop() }
    let report = try await poll("the NACK in dump --server", timeout: 30) { () -> String? in
      let dump = try LambdaXDSProcess.run(["dump", "--server", server.adminURL, "--node-id", "api-sidecar-proxy"])
      return dump.status == 0 && dump.stderr.contains("REJECTED") ? dump.stderr : nil
    }
    #expect(report.contains("CDS: sent") && report.contains("/nonexistent/lambda-xds-ca.pem"), "\(report)")
    // The real Envoy's stream in the metrics: responses, ACKs (listeners) and the NACK (clusters).
    let metrics = try await HTTP.get("\(server.adminURL)/metrics").body
    let samples = Dictionary(
      metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line -> (String, Double)? in
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
        return (String(line[..<space]), value)
      }, uniquingKeysWith: { $1 })
    #expect(samples[#"lambda_xds_xds_nacks_total{type="cluster"}"#] ?? 0 >= 1, "\(metrics)")
    #expect(samples[#"lambda_xds_xds_responses_total{type="cluster"}"#] ?? 0 >= 1)
    let acks = samples.filter { $0.key.hasPrefix("lambda_xds_xds_acks_total{") }.values.reduce(0, +)
    #expect(acks >= 1, "\(metrics)")
    #expect(samples[#"lambda_xds_connected_proxies{kind="connect-proxy",variant="sotw"}"#] == 1)
    let dump = try LambdaXDSProcess.run(["dump", "--server", server.adminURL, "--node-id", "api-sidecar-proxy"])
    let view = try EnvoyConfigView(json: dump.stdout)
    #expect(view.listeners.keys.contains { $0.hasPrefix("authentication:") })
    let unknown = try LambdaXDSProcess.run(["dump", "--server", server.adminURL, "--node-id", "nobody"])
    #expect(unknown.status == 1 && unknown.stderr.contains("known: api-sidecar-proxy, db-sidecar-proxy, mesh-gateway, terminating-gateway, web-sidecar-proxy"))
  }

  @Test("Consul mode without --datacenter: the agent's datacenter (dc2) names clusters and SPIFFE identities, in dump and serve")
  func agentDatacenter() async throws {
    let consul = try await ConsulSimulator.start(arguments: ["--datacenter", "dc2"])
    defer { consul.stop() }
    try await consul.load(catalogFile: Self.example)
    let dump = try LambdaXDSProcess.run(["dump", "--consul-address", consul.address, "--node-id", "api-sidecar-proxy"])
    #expect(dump.status == 0, "\(dump.stderr)")
    #expect(dump.stdout.contains("db.default.dc2.internal.11111111-2222-3333-4444-555555555555.consul"))
    #expect(dump.stdout.contains("/dc/dc2/svc/db") && !dump.stdout.contains(".dc1.") && !dump.stdout.contains("/dc/dc1/"))
    let server = try await LambdaXDSProcess.serve(["--consul-address", consul.address])
    defer { server.stop() }
    let served = try await poll("the sidecar's configuration from serve", timeout: 30) { () -> String? in
      let (status, body) = try await HTTP.get("\(server.adminURL)/v1/proxies/api-sidecar-proxy/config_dump")
      return status == 200 ? body : nil
    }
    #expect(served.contains("db.default.dc2.internal.") && !served.contains(".dc1."))
    #expect(server.log.contains("datacenter=dc2"))
  }

  @Test("xDS over IPv6: serve listens on [::1] and a real Envoy bootstrapped for it is served")
  func xdsOverIPv6() async throws {
    let server = try await LambdaXDSProcess.serve(["--catalog-file", Self.example], xdsHost: "::1")
    defer { server.stop() }
    #expect(server.log.contains("xDS server listening") && server.log.contains("[::1]:\(server.xdsPort)"))
    let sidecar = try await EnvoyProcess.start(name: "ipv6-sidecar", bootstrapJSON: try server.bootstrap(nodeID: "web-sidecar-proxy"))
    defer { sidecar.stop() }
    try await eventually("the Envoy's stream over IPv6", timeout: 20) {
      let connected = try await sidecar.admin("/stats?filter=control_plane.connected_state").contains("connected_state: 1")
      let status = try await HTTP.get("\(server.adminURL)/v1/proxies/web-sidecar-proxy/status").body
      return connected && status.contains(#""ackedVersion""#)
    }
  }

  @Test("xDS over mutual TLS: served only with a client certificate for the proxy's own service")
  func xdsOverTLS() async throws {
    let pki = try TestPKI(serverName: "xds.lambda-xds.test")
    let server = try await LambdaXDSProcess.serve([
      "--catalog-file", Self.example, "--xds-tls-cert", pki.serverCertificateFile, "--xds-tls-key", pki.serverKeyFile,
      "--xds-tls-client-ca", pki.caFile,
    ])
    defer { server.stop() }
    let trustDomain = "11111111-2222-3333-4444-555555555555.consul"
    func envoy(_ name: String, certificate: (certificate: String, key: String)?) async throws -> EnvoyProcess {
      var extra = ["--xds-tls-ca", pki.caFile, "--xds-tls-server-name", "xds.lambda-xds.test"]
      if let certificate { extra += ["--xds-tls-cert", certificate.certificate, "--xds-tls-key", certificate.key] }
      return try await EnvoyProcess.start(name: name, bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy", extra: extra))
    }
    let good = try await envoy("tls-api", certificate: try pki.clientCertificate(uri: "spiffe://\(trustDomain)/ns/default/dc/dc1/svc/api"))
    defer { good.stop() }
    let otherService = try await envoy("tls-web", certificate: try pki.clientCertificate(uri: "spiffe://\(trustDomain)/ns/default/dc/dc1/svc/web"))
    defer { otherService.stop() }
    let anonymous = try await envoy("tls-anonymous", certificate: nil)
    defer { anonymous.stop() }
    try await eventually("the proxy with its own identity gets its listeners", timeout: 30) {
      try await good.configView().listeners.keys.contains { $0.hasPrefix("authentication:") }
    }
    try await eventually("another service's certificate is refused", timeout: 20) {
      server.log.contains("the client certificate is for web, not api")
    }
    #expect(try await otherService.configView().listeners.isEmpty)
    #expect(try await anonymous.configView().listeners.isEmpty, "no client certificate: no TLS session, no configuration")
    #expect(try await anonymous.admin("/stats?filter=control_plane.connected_state").contains("connected_state: 0"))
  }
}
