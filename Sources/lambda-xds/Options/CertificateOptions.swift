import ArgumentParser
import Foundation
import ConsulCatalog
import Logging
import MeshIdentity

/// The embedded dev CA used in catalog-file mode (Consul mode takes Consul's CA).
struct CertificateOptions: ParsableArguments {
  @Option(help: "Keep the dev CA (catalog-file mode) here, so a restart keeps the same trust.")
  var dataDir: String?

  @Option(help: "Lifetime of dev CA leaf certificates in seconds; each is renewed at half-life.")
  var leafLifetime: Double = 72 * 3600

  /// Loads the CA kept in `--data-dir`, or creates one (and keeps it there when given).
  func authority(trustDomain: String?, logger: Logger) throws -> DevCertificateAuthority {
    let directory = dataDir.map { URL(fileURLWithPath: $0) }
    if let directory, FileManager.default.fileExists(atPath: directory.appendingPathComponent("dev-ca.pem").path) {
      let authority = try DevCertificateAuthority(directory: directory)
      if let trustDomain, trustDomain != authority.trustDomain {
        logger.warning(
          "the catalog's trust_domain differs from the kept dev CA's; using the CA's",
          metadata: ["catalog": "\(trustDomain)", "ca": "\(authority.trustDomain)"])
      }
      return authority
    }
    let authority = try DevCertificateAuthority(trustDomain: trustDomain)
    if let directory { try authority.write(to: directory) }
    logger.info("dev CA created", metadata: ["trust_domain": "\(authority.trustDomain)"])
    return authority
  }

  /// Reads the catalog once with the certificates `serve` would give it (catalog-file mode: the
  /// dev CA; Consul mode: none yet).
  func readCatalog(_ source: CatalogSourceOptions, logger: Logger) async throws -> (CatalogSnapshot, MeshCertificates) {
    var (catalog, consulCertificates) = try await source.readOnce(logger: logger)
    guard source.catalogFile != nil else { return (catalog, consulCertificates) }
    var rotation = LeafRotation(authority: try authority(trustDomain: catalog.trustDomain, logger: logger), lifetime: leafLifetime)
    _ = try rotation.apply(to: &catalog, now: Date())
    return (catalog, rotation.certificates)
  }
}
