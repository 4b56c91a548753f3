import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// TLS transport sockets: to AWS (verified against the system CA bundle) and inside the mesh
/// (mTLS with certificates delivered over SDS, so a rotation pushes only secrets).
enum TLSSockets {
  /// TLS to a public endpoint: SNI and a DNS SAN match for the host, CA bundle from disk.
  static func upstream(verifyingHost host: String, caBundle: String) throws -> Envoy_Config_Core_V3_TransportSocket {
    try .tls(
      UpstreamTLSContext.with {
        $0.sni = host
        $0.commonTlsContext.validationContext = .with {
          $0.trustedCa.filename = caBundle
          $0.matchTypedSubjectAltNames = [.with {
            $0.sanType = .dns
            $0.matcher.exact = host
          }]
        }
      })
  }

  /// mTLS from a sidecar to a mesh destination (its sidecars, or the gateway that fronts it):
  /// presents the caller's leaf, expects the destination's SPIFFE identity, asks for its SNI.
  static func meshUpstream(callerLeaf: String, sni: String, expected: SPIFFEID) throws
    -> Envoy_Config_Core_V3_TransportSocket
  {
    try checkServerName(sni)
    return try .tls(
      UpstreamTLSContext.with {
        $0.sni = sni
        $0.commonTlsContext.tlsCertificateSdsSecretConfigs = [sds(callerLeaf)]
        $0.commonTlsContext.combinedValidationContext = .with {
          $0.defaultValidationContext.matchTypedSubjectAltNames = [.with {
            $0.sanType = .uri
            $0.matcher.exact = expected.description
          }]
          $0.validationContextSdsSecretConfig = sds(MeshNames.rootsSecret)
        }
      })
  }

  /// The receiving side (public listener, gateway chain): presents the service's leaf and
  /// requires a client certificate signed by the mesh roots.
  static func meshDownstream(serviceLeaf: String, alpn: [String] = []) throws -> Envoy_Config_Core_V3_TransportSocket {
    try .tls(
      DownstreamTLSContext.with {
        $0.commonTlsContext.tlsCertificateSdsSecretConfigs = [sds(serviceLeaf)]
        $0.commonTlsContext.alpnProtocols = alpn
        $0.commonTlsContext.validationContextSdsSecretConfig = sds(MeshNames.rootsSecret)
        $0.requireClientCertificate = .init(true)
      })
  }

  /// TLS carries at most 255 bytes of server name; a longer one would be a NACK.
  static func checkServerName(_ name: String) throws {
    guard name.utf8.count <= 255 else {
      throw TranslationError("its TLS server name \(name.prefix(40))... is \(name.utf8.count) bytes long; TLS allows 255")
    }
  }

  private static func sds(_ name: String) -> SDSSecretConfig {
    .with {
      $0.name = name
      $0.sdsConfig = .ads
    }
  }

}
