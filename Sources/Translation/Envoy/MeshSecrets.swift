import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf

/// SDS secrets: the mesh roots and per-service leaf certificates, referenced by name from TLS
/// contexts so a rotation changes only these resources.
enum MeshSecrets {
  static func roots(_ pem: String) -> Secret {
    .with {
      $0.name = MeshNames.rootsSecret
      $0.validationContext.trustedCa.inlineString = pem
    }
  }

  static func leaf(_ service: String, _ leaf: MeshCertificates.Leaf) -> Secret {
    .with {
      $0.name = MeshNames.leafSecret(service)
      $0.tlsCertificate.certificateChain.inlineString = leaf.certificatePEM
      $0.tlsCertificate.privateKey.inlineString = leaf.privateKeyPEM
    }
  }
}
