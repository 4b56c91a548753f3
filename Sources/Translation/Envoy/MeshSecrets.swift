import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// SDS secrets: the mesh roots and per-service leaf certificates, referenced by name from TLS
/// contexts so a rotation changes only these resources.
enum MeshSecrets {
  struct Roots: ResourceSpec {
    var pem: String

    func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
      try EncodedResource(
        Secret.with {
          $0.name = MeshNames.rootsSecret
          $0.validationContext.trustedCa.inlineString = pem
        })
    }
  }

  struct Leaf: ResourceSpec {
    var service: String
    var leaf: MeshCertificates.Leaf

    func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
      try EncodedResource(
        Secret.with {
          $0.name = MeshNames.leafSecret(service)
          $0.tlsCertificate.certificateChain.inlineString = leaf.certificatePEM
          $0.tlsCertificate.privateKey.inlineString = leaf.privateKeyPEM
        })
    }
  }
}
