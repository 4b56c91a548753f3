public import Foundation
import SwiftASN1
import X509

/// When a PEM certificate expires, for the expiry metric (Consul's leaves and the dev CA's alike).
public enum CertificateExpiry {
  /// The first certificate's `notAfter`; nil if the PEM does not parse.
  public static func notAfter(pem: String) -> Date? {
    let end = "-----END CERTIFICATE-----"
    guard let range = pem.range(of: end) else { return nil }
    return (try? Certificate(pemEncoded: String(pem[..<range.upperBound])))?.notValidAfter
  }
}
