import ArgumentParser
import ConsulCatalog
import ConsulWatch
import ControlPlane
import Foundation
import Logging

/// Where the catalog comes from: a catalog file (the embedded default) or Consul. Shared by every
/// command that reads the catalog, so they all see the same thing.
struct CatalogSourceOptions: ParsableArguments {
  @Option(help: "Read the catalog from this JSON or YAML file instead of Consul (watched for edits).")
  var catalogFile: String?

  @Option(help: "Consul address: host:port, http://, https:// or unix:// (env: CONSUL_HTTP_ADDR).")
  var consulAddress: String?

  @Option(help: "ACL token (env: CONSUL_HTTP_TOKEN).")
  var consulToken: String?

  @Option(help: "File holding the ACL token (env: CONSUL_HTTP_TOKEN_FILE).")
  var consulTokenFile: String?

  @Option(help: "CA certificates to trust for Consul's HTTPS (env: CONSUL_CACERT).")
  var consulCACert: String?

  @Option(help: "Client certificate for mutual TLS to Consul (env: CONSUL_CLIENT_CERT).")
  var consulClientCert: String?

  @Option(help: "Client key for mutual TLS to Consul (env: CONSUL_CLIENT_KEY).")
  var consulClientKey: String?

  @Flag(help: "Do not verify Consul's certificate (env: CONSUL_HTTP_SSL_VERIFY=false).")
  var consulSkipVerify = false

  @Flag(help: "Let any Consul server answer (?stale): cheaper, usually < 50 ms behind.")
  var consulStale = false

  @Option(help: "Consul datacenter (default: the agent's; for a catalog file, its own).")
  var datacenter: String?

  /// Consul's environment variables, overridden by the flags given.
  func consulConfig(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ConsulConfig {
    var env = environment
    if let consulTokenFile { env["CONSUL_HTTP_TOKEN_FILE"] = consulTokenFile }
    if let consulCACert { env["CONSUL_CACERT"] = consulCACert }
    if let consulClientCert { env["CONSUL_CLIENT_CERT"] = consulClientCert }
    if let consulClientKey { env["CONSUL_CLIENT_KEY"] = consulClientKey }
    var config = try ConsulConfig(environment: env) { try String(contentsOfFile: $0, encoding: .utf8) }
    if let consulAddress { try config.setAddress(consulAddress) }
    if let consulToken { config.token = consulToken }
    if consulSkipVerify { config.verifyTLS = false }
    config.stale = consulStale
    config.datacenter = datacenter
    return config
  }

  /// The source these flags choose.
  func source() throws -> CatalogSource {
    if let catalogFile { return .file(path: catalogFile) }
    return .consul(try consulConfig(), datacenter: datacenter)
  }

  /// Reads the catalog once (for `dump` and `check`): the file, or Consul's first complete view.
  func readOnce(logger: Logger) async throws -> (CatalogSnapshot, MeshCertificates) {
    do { return try await source().readOnce(logger: logger) } catch let failure as CatalogSource.Failure {
      throw ValidationError(failure.description)
    }
  }
}
