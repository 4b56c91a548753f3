import AsyncHTTPClient
import ConsulCatalog
import ConsulWatch
import Foundation
import TestSupport
import Testing

/// The ways to reach Consul besides plain HTTP, against the simulator: HTTPS with a CA,
/// CONSUL_TLS_SERVER_NAME, a client certificate, and a Unix socket.
@Suite("Consul transports", .serialized)
struct ConsulTransportTests {
  /// The service list; the call succeeding is what matters.
  func services(_ config: ConsulConfig) async throws -> [String] {
    let http = try ConsulClient.makeHTTPClient(config)
    do {
      let reply = try await ConsulClient(config: config, http: http).get("/v1/catalog/services")
      try await http.shutdown()
      return reply.body.object.map { Array($0.keys).sorted() } ?? ["not an object"]
    } catch {
      try await http.shutdown()
      throw error
    }
  }

  @Test("HTTPS: CA, server name and client certificate are all used, and each is needed")
  func https() async throws {
    let pki = try TestPKI(serverName: "server.dc1.consul")
    let simulator = try await ConsulSimulator.start(arguments: [
      "--tls-cert", pki.serverCertificateFile, "--tls-key", pki.serverKeyFile, "--tls-client-ca", pki.caFile,
    ])
    defer { simulator.stop() }
    let environment = [
      "CONSUL_HTTP_ADDR": "https://127.0.0.1:\(simulator.port)", "CONSUL_CACERT": pki.caFile,
      "CONSUL_CLIENT_CERT": pki.clientCertificateFile, "CONSUL_CLIENT_KEY": pki.clientKeyFile,
      "CONSUL_TLS_SERVER_NAME": "server.dc1.consul",
    ]
    let config = try ConsulConfig(environment: environment) { _ in "" }
    #expect(try await services(config) == [])

    var noServerName = config
    noServerName.tlsServerName = nil
    await #expect(throws: ConsulError.self, "the certificate names server.dc1.consul, not 127.0.0.1") {
      try await services(noServerName)
    }
    var noClientCertificate = config
    noClientCertificate.clientCertFile = nil
    noClientCertificate.clientKeyFile = nil
    await #expect(throws: ConsulError.self, "the simulator requires a client certificate") {
      try await services(noClientCertificate)
    }
    var untrusted = config
    untrusted.caCertFile = nil
    await #expect(throws: ConsulError.self, "the test CA is not a system root") { try await services(untrusted) }
  }

  @Test("a Unix socket (CONSUL_HTTP_ADDR=unix://...)")
  func unixSocket() async throws {
    let path = testRunDirectory.appendingPathComponent("consul-\(UUID().uuidString.prefix(8)).sock").path
    let simulator = try await ConsulSimulator.start(arguments: ["--unix", path])
    defer { simulator.stop() }
    let config = try ConsulConfig(environment: ["CONSUL_HTTP_ADDR": "unix://\(path)"]) { _ in "" }
    #expect(try await services(config) == [])
  }
}
