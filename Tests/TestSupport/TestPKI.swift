import Crypto
public import Foundation
import SwiftASN1
import X509

/// Throwaway certificates for TLS tests: a CA, a server certificate for one DNS name and a
/// client certificate, written as PEM files.
public struct TestPKI: Sendable {
  public let directory: URL
  private let caKey: P256.Signing.PrivateKey
  private let caName: DistinguishedName
  public var caFile: String { directory.appendingPathComponent("ca.pem").path }
  public var serverCertificateFile: String { directory.appendingPathComponent("server.pem").path }
  public var serverKeyFile: String { directory.appendingPathComponent("server-key.pem").path }
  public var clientCertificateFile: String { directory.appendingPathComponent("client.pem").path }
  public var clientKeyFile: String { directory.appendingPathComponent("client-key.pem").path }

  public init(serverName: String) throws {
    directory = testRunDirectory.appendingPathComponent("pki-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let now = Date()
    let caKey = P256.Signing.PrivateKey()
    let caName = try DistinguishedName { CommonName("test CA") }
    self.caKey = caKey
    self.caName = caName
    let ca = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: now - 60,
      notValidAfter: now + 86_400, issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true))
      }, issuerPrivateKey: .init(caKey))
    func leaf(_ name: String, usage: ExtendedKeyUsage.Usage, san: GeneralName?) throws -> (Certificate, P256.Signing.PrivateKey) {
      let key = P256.Signing.PrivateKey()
      let certificate = try Certificate(
        version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now - 60,
        notValidAfter: now + 86_400, issuer: caName, subject: try DistinguishedName { CommonName(name) },
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
          Critical(KeyUsage(digitalSignature: true))
          try ExtendedKeyUsage([usage])
          if let san { SubjectAlternativeNames([san]) }
        }, issuerPrivateKey: .init(caKey))
      return (certificate, key)
    }
    let server = try leaf(serverName, usage: .serverAuth, san: .dnsName(serverName))
    let client = try leaf("client", usage: .clientAuth, san: nil)
    try write(ca, to: caFile)
    try write(server.0, to: serverCertificateFile)
    try server.1.pemRepresentation.write(toFile: serverKeyFile, atomically: true, encoding: .utf8)
    try write(client.0, to: clientCertificateFile)
    try client.1.pemRepresentation.write(toFile: clientKeyFile, atomically: true, encoding: .utf8)
  }

  /// Another client certificate signed by this CA, carrying `uri` as its SAN (a SPIFFE identity);
  /// returns the certificate and key paths.
  public func clientCertificate(uri: String) throws -> (certificate: String, key: String) {
    let key = P256.Signing.PrivateKey()
    let now = Date()
    let certificate = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now - 60,
      notValidAfter: now + 86_400, issuer: caName, subject: try DistinguishedName { CommonName("client") },
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(KeyUsage(digitalSignature: true))
        try ExtendedKeyUsage([.clientAuth])
        SubjectAlternativeNames([.uniformResourceIdentifier(uri)])
      }, issuerPrivateKey: .init(caKey))
    let name = UUID().uuidString.prefix(8)
    let paths = (directory.appendingPathComponent("client-\(name).pem").path, directory.appendingPathComponent("client-\(name)-key.pem").path)
    try write(certificate, to: paths.0)
    try key.pemRepresentation.write(toFile: paths.1, atomically: true, encoding: .utf8)
    return paths
  }

  private func write(_ certificate: Certificate, to path: String) throws {
    try certificate.serializeAsPEM().pemString.write(toFile: path, atomically: true, encoding: .utf8)
  }
}
