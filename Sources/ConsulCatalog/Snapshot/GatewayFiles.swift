import Foundation

extension OriginationTLS {
  /// What is wrong with the files as this host sees them: (errors, warnings). A file that is
  /// here but holds no PEM certificate (or key) is an error: Envoy on the gateway would drop that
  /// cluster and NACK the update. A file that is not here is only a warning, since
  /// Envoy reads it on the gateway's host, which may not be this one.
  func inspectFiles() -> (errors: [String], warnings: [String]) {
    var errors: [String] = []
    var warnings: [String] = []
    for (field, path, marker) in [
      ("CAFile", caFile, "CERTIFICATE"), ("CertFile", certFile, "CERTIFICATE"), ("KeyFile", keyFile, "PRIVATE KEY"),
    ] {
      guard let path else { continue }
      guard FileManager.default.fileExists(atPath: path) else {
        warnings.append("\(field) \(path) is not on lambda-xds's host; if the gateway's host lacks it too, Envoy rejects that service's cluster")
        continue
      }
      guard let data = FileManager.default.contents(atPath: path), data.count <= 4 << 20 else {
        errors.append("\(field) \(path) cannot be read (or is over 4 MiB)")
        continue
      }
      let text = String(decoding: data, as: UTF8.self)
      if !text.contains("-----BEGIN ") || !text.contains(marker) {
        errors.append("\(field) \(path) holds no PEM \(marker.lowercased())")
      }
    }
    if (certFile == nil) != (keyFile == nil) {
      errors.append("CertFile and KeyFile go together; only one is set")
    }
    return (errors, warnings)
  }
}

extension CatalogSnapshot {
  /// Checks the files every terminating gateway's TLS origination names, as they are on this
  /// host, and records what is wrong in ``OriginationTLS/problems`` (translation then leaves a
  /// service whose files are broken out, with the reason). Reads files: the catalog source
  /// calls it, never translation.
  public mutating func inspectGatewayFiles() {
    for (gateway, services) in gatewayTLS {
      for (service, tls) in services {
        let (errors, warnings) = tls.inspectFiles()
        if errors != tls.fileErrors || warnings != tls.fileWarnings {
          gatewayTLS[gateway]?[service]?.fileErrors = errors
          gatewayTLS[gateway]?[service]?.fileWarnings = warnings
        }
      }
    }
  }
}
