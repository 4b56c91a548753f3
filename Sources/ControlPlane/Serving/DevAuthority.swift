public import Foundation
public import Logging
public import MeshIdentity

/// The embedded dev CA of catalog-file mode, kept in `--data-dir` when one is given so a restart
/// keeps the same trust.
public enum DevAuthority {
  /// Loads the CA kept in `directory`, or creates one (and keeps it there when given).
  public static func loadOrCreate(in directory: URL?, trustDomain: String?, logger: Logger) throws -> DevCertificateAuthority {
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
}
