import ArgumentParser
import Foundation
import ConsulCatalog
import ControlPlane
import Logging
import MeshIdentity

/// The embedded dev CA used in catalog-file mode (Consul mode takes Consul's CA).
struct CertificateOptions: ParsableArguments {
  @Option(help: "Keep the dev CA (catalog-file mode) here, so a restart keeps the same trust.")
  var dataDir: String?

  @Option(help: "Lifetime of dev CA leaf certificates in seconds; each is renewed at half-life.")
  var leafLifetime: Double = 72 * 3600

  var dataDirectory: URL? { dataDir.map { URL(fileURLWithPath: $0) } }

  /// Reads the catalog once with the certificates `serve` would give it (catalog-file mode: the
  /// dev CA; Consul mode: none yet).
  func readCatalog(_ source: CatalogSourceOptions, logger: Logger) async throws -> (CatalogSnapshot, MeshCertificates) {
    var (catalog, consulCertificates) = try await source.readOnce(logger: logger)
    guard source.catalogFile != nil else { return (catalog, consulCertificates) }
    let authority = try DevAuthority.loadOrCreate(in: dataDirectory, trustDomain: catalog.trustDomain, logger: logger)
    var rotation = LeafRotation(authority: authority, lifetime: leafLifetime)
    _ = try rotation.apply(to: &catalog, now: Date())
    return (catalog, rotation.certificates)
  }
}
