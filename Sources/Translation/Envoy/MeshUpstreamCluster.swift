import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf
import ResourceCache

/// A sidecar's cluster toward a gated Lambda service: EDS endpoints are the healthy gateway
/// instances, and the connection is mTLS with SNI naming the service, as in Consul.
enum MeshUpstreamCluster {
  static func cluster(sni: String, callerService: String, expectedSPIFFE: String, options: TranslationOptions)
    throws -> Cluster
  {
    let socket = try TLSSockets.meshUpstream(
      callerLeaf: MeshNames.leafSecret(callerService), sni: sni, expectedSPIFFE: expectedSPIFFE)
    return .with {
      $0.name = sni
      $0.type = .eds
      $0.edsClusterConfig.edsConfig = .ads
      $0.connectTimeout = .milliseconds(options.connectTimeoutMilliseconds)
      $0.transportSocket = socket
    }
  }

  static func endpoints(sni: String, gateways: [ServiceInstance]) -> ClusterLoadAssignment {
    .with {
      $0.clusterName = sni
      $0.endpoints = [
        .with {
          $0.lbEndpoints = gateways.map { gateway in
            .with { $0.endpoint.address = .socket(gateway.address, gateway.port) }
          }
        }
      ]
    }
  }
}
