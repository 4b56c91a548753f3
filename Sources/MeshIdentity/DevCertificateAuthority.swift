public import ConsulCatalog
import Crypto
public import Foundation
import SwiftASN1
import X509

/// A small Connect-style CA for the catalog-file mode, where there is no Consul CA to ask.
///
/// The root carries `spiffe://<trust-domain>` and leaves carry
/// `spiffe://<trust-domain>/ns/default/dc/<dc>/svc/<service>`, exactly the identities Consul's CA
/// issues, so the same Envoy configuration works with either. Keys are P-256.
public struct DevCertificateAuthority: Sendable {
  public let trustDomain: String
  public let rootPEM: String
  let rootKey: P256.Signing.PrivateKey
  let rootCertificate: Certificate

  /// A new root, valid ten years, for `trustDomain` (default: a new `<uuid>.consul`).
  public init(trustDomain: String? = nil, now: Date = Date()) throws {
    let domain = trustDomain ?? "\(UUID().uuidString.lowercased()).consul"
    let key = P256.Signing.PrivateKey()
    let name = try DistinguishedName { CommonName("lambda-xds dev CA \(domain)") }
    let certificate = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
      notValidBefore: now.addingTimeInterval(-60), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
      issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
        SubjectAlternativeNames([.uniformResourceIdentifier(SPIFFEID.root(trustDomain: domain))])
      },
      issuerPrivateKey: .init(key))
    try self.init(key: key, certificate: certificate)
  }

  /// Loads a root written by ``write(to:)``.
  public init(directory: URL) throws {
    let certificate = try Certificate(
      pemEncoded: String(contentsOf: directory.appendingPathComponent(Self.certificateFile), encoding: .utf8))
    let key = try P256.Signing.PrivateKey(
      pemRepresentation: String(contentsOf: directory.appendingPathComponent(Self.keyFile), encoding: .utf8))
    try self.init(key: key, certificate: certificate)
  }

  private init(key: P256.Signing.PrivateKey, certificate: Certificate) throws {
    guard
      let san = try certificate.extensions.subjectAlternativeNames,
      case .uniformResourceIdentifier(let uri)? = san.first, let domain = SPIFFEID.trustDomain(ofRoot: uri)
    else { throw DevCAError("the dev CA root has no spiffe://<trust-domain> URI SAN") }
    trustDomain = domain
    rootKey = key
    rootCertificate = certificate
    rootPEM = try certificate.serializeAsPEM().pemString + "\n"
  }

  static let certificateFile = "dev-ca.pem"
  static let keyFile = "dev-ca-key.pem"

  /// Keeps the root under `directory`, so a restart keeps the same trust (and trust domain).
  public func write(to directory: URL) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try rootPEM.write(to: directory.appendingPathComponent(Self.certificateFile), atomically: true, encoding: .utf8)
    let keyPath = directory.appendingPathComponent(Self.keyFile)
    try rootKey.pemRepresentation.write(to: keyPath, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath.path)
  }

  /// A leaf for one service: the SPIFFE identity Consul would give it.
  public func issue(service: String, datacenter: String, now: Date, lifetime: TimeInterval) throws -> IssuedLeaf {
    let key = P256.Signing.PrivateKey()
    let expiry = now.addingTimeInterval(lifetime)
    let certificate = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
      notValidBefore: now.addingTimeInterval(-60), notValidAfter: expiry,
      issuer: rootCertificate.subject, subject: try DistinguishedName { CommonName(service) },
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
        try ExtendedKeyUsage([.serverAuth, .clientAuth])
        SubjectAlternativeNames([
          .uniformResourceIdentifier(
            SPIFFEID(trustDomain: trustDomain, datacenter: datacenter, service: service).description)
        ])
      },
      issuerPrivateKey: .init(rootKey))
    return IssuedLeaf(
      leaf: MeshCertificates.Leaf(
        certificatePEM: try certificate.serializeAsPEM().pemString + "\n", privateKeyPEM: key.pemRepresentation + "\n"),
      serial: certificate.serialNumber.description, notAfter: expiry)
  }
}

extension DevCertificateAuthority {
  /// A leaf kept from an earlier run, if this CA signed it for the service's identity in
  /// `datacenter` and `keyPEM` is its key; nil otherwise (it is then issued anew).
  public func restore(certificatePEM: String, keyPEM: String, service: String, datacenter: String) -> IssuedLeaf? {
    guard let certificate = try? Certificate(pemEncoded: certificatePEM),
      let key = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM),
      certificate.publicKey == Certificate.PublicKey(key.publicKey),
      certificate.issuer == rootCertificate.subject,
      rootCertificate.publicKey.isValidSignature(certificate.signature, for: certificate),
      let names = try? certificate.extensions.subjectAlternativeNames,
      Array(names) == [
        .uniformResourceIdentifier(SPIFFEID(trustDomain: trustDomain, datacenter: datacenter, service: service).description)
      ]
    else { return nil }
    return IssuedLeaf(
      leaf: MeshCertificates.Leaf(certificatePEM: certificatePEM, privateKeyPEM: keyPEM),
      serial: certificate.serialNumber.description, notAfter: certificate.notValidAfter)
  }
}

/// A leaf and when it must be replaced.
public struct IssuedLeaf: Sendable, Equatable {
  public var leaf: MeshCertificates.Leaf
  public var serial: String
  public var notAfter: Date
}

public struct DevCAError: Error, CustomStringConvertible {
  public let description: String
  init(_ description: String) { self.description = description }
}
