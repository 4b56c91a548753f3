public import EnvoyAPI
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
      references.formUnion(try SecretReferences.upstream(cluster.transportSocket))
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
        let manager = try HTTPConnectionManager(serializedBytes: filter.typedConfig.value)
        if case .rds(let rds) = manager.routeSpecifier {
          references.insert(ResourceKey(.route, rds.routeConfigName))
        }
      }
      if chain.hasTransportSocket {
        references.formUnion(try SecretReferences.downstream(chain.transportSocket))
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

  static func upstream(_ socket: Envoy_Config_Core_V3_TransportSocket) throws -> Set<ResourceKey> {
    guard socket.typedConfig.typeURL == "type.googleapis.com/\(Upstream.protoMessageName)" else {
      return []
    }
    return names(in: try Upstream(serializedBytes: socket.typedConfig.value).commonTlsContext)
  }

  static func downstream(_ socket: Envoy_Config_Core_V3_TransportSocket) throws -> Set<ResourceKey>
  {
    guard socket.typedConfig.typeURL == "type.googleapis.com/\(Downstream.protoMessageName)" else {
      return []
    }
    return names(in: try Downstream(serializedBytes: socket.typedConfig.value).commonTlsContext)
  }

  private static func names(in context: Common) -> Set<ResourceKey> {
    var names = context.tlsCertificateSdsSecretConfigs.map(\.name)
    switch context.validationContextType {
    case .validationContextSdsSecretConfig(let sds): names.append(sds.name)
    case .combinedValidationContext(let combined) where combined.hasValidationContextSdsSecretConfig:
      names.append(combined.validationContextSdsSecretConfig.name)
    default: break
    }
    return Set(names.map { ResourceKey(.secret, $0) })
  }
}
