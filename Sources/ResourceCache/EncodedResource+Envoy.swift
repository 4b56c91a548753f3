public import EnvoyAPI
import Foundation
import SwiftProtobuf

/// Typed constructors: encode the message once and record what it needs to warm.
extension EncodedResource {
  public init(_ cluster: Envoy_Config_Cluster_V3_Cluster) throws {
    var references = Set<ResourceKey>()
    if cluster.type == .eds {
      let service = cluster.edsClusterConfig.serviceName
      references.insert(ResourceKey(.endpoint, service.isEmpty ? cluster.name : service))
    }
    if cluster.hasTransportSocket {
      references.formUnion(SecretReferences.upstream(cluster.transportSocket))
    }
    self.init(
      type: .cluster, name: cluster.name, bytes: try cluster.deterministicBytes(),
      references: references)
  }

  public init(_ endpoints: Envoy_Config_Endpoint_V3_ClusterLoadAssignment) throws {
    self.init(type: .endpoint, name: endpoints.clusterName, bytes: try endpoints.deterministicBytes())
  }

  public init(_ listener: Envoy_Config_Listener_V3_Listener) throws {
    var references = Set<ResourceKey>()
    var chains = listener.filterChains
    if listener.hasDefaultFilterChain { chains.append(listener.defaultFilterChain) }
    for chain in chains {
      for filter in chain.filters where filter.typedConfig.typeURL == HTTPConnectionManager.typeURL {
        // HttpConnectionManager.rds (3) -> Rds.route_config_name (2).
        if let rds = WireFields.payloads(3, in: filter.typedConfig.value).last {
          references.insert(ResourceKey(.route, WireFields.string(2, in: rds) ?? ""))
        }
      }
      if chain.hasTransportSocket {
        references.formUnion(SecretReferences.downstream(chain.transportSocket))
      }
    }
    self.init(
      type: .listener, name: listener.name, bytes: try listener.deterministicBytes(),
      references: references)
  }

  public init(_ routes: Envoy_Config_Route_V3_RouteConfiguration) throws {
    self.init(type: .route, name: routes.name, bytes: try routes.deterministicBytes())
  }

  public init(_ secret: Envoy_Extensions_TransportSockets_Tls_V3_Secret) throws {
    self.init(type: .secret, name: secret.name, bytes: try secret.deterministicBytes())
  }
}

typealias HTTPConnectionManager =
  Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager

extension HTTPConnectionManager {
  static let typeURL = "type.googleapis.com/\(protoMessageName)"
}

/// Finds the SDS secrets a TLS transport socket asks for.
enum SecretReferences {
  typealias Upstream = Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext
  typealias Downstream = Envoy_Extensions_TransportSockets_Tls_V3_DownstreamTlsContext
  typealias Common = Envoy_Extensions_TransportSockets_Tls_V3_CommonTlsContext

  static let upstreamTypeURL = "type.googleapis.com/\(Upstream.protoMessageName)"
  static let downstreamTypeURL = "type.googleapis.com/\(Downstream.protoMessageName)"

  static func upstream(_ socket: Envoy_Config_Core_V3_TransportSocket) -> Set<ResourceKey> {
    socket.typedConfig.typeURL == upstreamTypeURL ? names(inContext: socket.typedConfig.value) : []
  }

  static func downstream(_ socket: Envoy_Config_Core_V3_TransportSocket) -> Set<ResourceKey> {
    socket.typedConfig.typeURL == downstreamTypeURL ? names(inContext: socket.typedConfig.value) : []
  }

  /// From an Upstream- or DownstreamTlsContext's bytes: common_tls_context (1) ->
  /// tls_certificate_sds_secret_configs (6), validation_context_sds_secret_config (7),
  /// combined_validation_context (8) -> validation_context_sds_secret_config (2); each an
  /// SdsSecretConfig whose name is field 1.
  private static func names(inContext bytes: Data) -> Set<ResourceKey> {
    guard let common = WireFields.payloads(1, in: bytes).last else { return [] }
    var configs = WireFields.payloads(6, in: common)
    configs += WireFields.payloads(7, in: common).suffix(1)
    if let combined = WireFields.payloads(8, in: common).last { configs += WireFields.payloads(2, in: combined).suffix(1) }
    return Set(configs.map { ResourceKey(.secret, WireFields.string(1, in: $0) ?? "") })
  }
}
