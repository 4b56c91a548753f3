import Foundation
import TestSupport
import Testing

/// xDS streams must carry an x-consul-token allowed to act for the proxy's service: checked
/// against a token file (catalog-file mode) or against Consul's own ACLs (Consul mode).
@Suite("xDS stream authorization", .serialized)
struct StreamAuthorizationTests {
  static let example = EnvoyProcess.projectRoot.appendingPathComponent("envoy-configs/catalog.json").path

  /// How many streams of this node the server refused, from its admin API.
  func refusals(_ server: LambdaXDSProcess, _ node: String) async throws -> Int {
    let (_, body) = try await HTTP.get("\(server.adminURL)/v1/proxies/\(node)/status")
    let status = try JSONSerialization.jsonObject(with: Data(body.utf8), options: .fragmentsAllowed) as? [String: Any]
    return status?["refusedStreams"] as? Int ?? 0
  }

  func hasListeners(_ envoy: EnvoyProcess) async throws -> Bool {
    try await envoy.configView().listeners.keys.contains { $0.hasPrefix("authentication:") }
  }

  @Test("catalog-file mode: the right token is served, no token or another proxy's token is refused, revoking ends the stream")
  func tokenFile() async throws {
    let directory = testRunDirectory.appendingPathComponent("tokens-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let tokens = directory.appendingPathComponent("tokens.json")
    try #"{"api-token": ["api"], "gateway-token": ["terminating-gateway"]}"#.write(to: tokens, atomically: true, encoding: .utf8)
    let server = try await LambdaXDSProcess.serve([
      "--catalog-file", Self.example, "--xds-token-file", tokens.path, "--xds-token-recheck", "1",
    ])
    defer { server.stop() }
    let good = try await EnvoyProcess.start(
      name: "token-good", bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy", extra: ["--token", "api-token"]))
    defer { good.stop() }
    let anonymous = try await EnvoyProcess.start(name: "token-none", bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy"))
    defer { anonymous.stop() }
    let impostor = try await EnvoyProcess.start(
      name: "token-other", bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy", extra: ["--token", "gateway-token"]))
    defer { impostor.stop() }
    try await eventually("the proxy with its token is configured", timeout: 30) { try await hasListeners(good) }
    try await eventually("both others refused", timeout: 20) { try await refusals(server, "api-sidecar-proxy") >= 2 }
    let anonymousConfigured = try await hasListeners(anonymous)
    let impostorConfigured = try await hasListeners(impostor)
    #expect(!anonymousConfigured && !impostorConfigured)
    #expect(server.log.contains("no x-consul-token") && server.log.contains("may not act for api"))
    // Envoy sees gRPC status 7 (PERMISSION_DENIED) with the reason (its log is flushed lazily).
    try await eventually("Envoy logs PERMISSION_DENIED", timeout: 20) {
      anonymous.log.contains("closed: 7, no x-consul-token in the stream's metadata")
    }

    let before = try await refusals(server, "api-sidecar-proxy")
    try #"{"gateway-token": ["terminating-gateway"]}"#.write(to: tokens, atomically: true, encoding: .utf8)
    try await eventually("the revoked token's stream ends and is refused on reconnect", timeout: 20) {
      let refused = try await refusals(server, "api-sidecar-proxy")
      return server.log.contains("no longer authorized") && refused > before
    }
  }

  @Test("Consul mode: the token must grant service:write on the proxy's service, as Consul decides")
  func consulACL() async throws {
    let consul = try await ConsulSimulator.start(arguments: [
      "--acl", "server-token=*", "--acl", "api-token=api", "--acl", "web-token=web",
    ])
    defer { consul.stop() }
    try await consul.load(catalogFile: Self.example)
    let server = try await LambdaXDSProcess.serve([
      "--consul-address", consul.address, "--consul-token", "server-token", "--xds-acl",
    ])
    defer { server.stop() }
    let good = try await EnvoyProcess.start(
      name: "acl-good", bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy", extra: ["--token", "api-token"]))
    defer { good.stop() }
    let wrong = try await EnvoyProcess.start(
      name: "acl-wrong", bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy", extra: ["--token", "web-token"]))
    defer { wrong.stop() }
    try await eventually("the proxy with service:write on api is configured", timeout: 30) { try await hasListeners(good) }
    try await eventually("the other is refused", timeout: 20) { try await refusals(server, "api-sidecar-proxy") >= 1 }
    let wrongConfigured = try await hasListeners(wrong)
    #expect(!wrongConfigured)
    #expect(server.log.contains("the token lacks service:write on api"))
  }
}
