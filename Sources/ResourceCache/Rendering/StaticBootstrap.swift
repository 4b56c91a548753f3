public import EnvoyAPI
import SwiftProtobuf

extension Snapshot {
  /// The snapshot as a self-contained Envoy bootstrap (`envoy --mode validate -c` accepts it):
  /// EDS clusters get their endpoints inline, RDS connection managers their routes inline, and
  /// SDS references point at static secrets.
  public func staticBootstrap(nodeID: String, adminPort: Int = 0) throws -> Envoy_Config_Bootstrap_V3_Bootstrap {
    let clusters = try resources(.cluster).values.sorted { $0.name < $1.name }.map { resource in
      var cluster = try Cluster(serializedBytes: resource.bytes)
      if cluster.type == .eds {
        let service = cluster.edsClusterConfig.serviceName.isEmpty ? cluster.name : cluster.edsClusterConfig.serviceName
        cluster.clearEdsClusterConfig()
        cluster.type = .static
        if let endpoints = self[ResourceKey(.endpoint, service)] {
          cluster.loadAssignment = try ClusterLoadAssignment(serializedBytes: endpoints.bytes)
        }
      }
      if cluster.hasTransportSocket { cluster.transportSocket = try Self.staticSecrets(cluster.transportSocket) }
      return cluster
    }
    let listeners = try resources(.listener).values.sorted { $0.name < $1.name }.map { resource in
      var listener = try Listener(serializedBytes: resource.bytes)
      listener.filterChains = try listener.filterChains.map { try inlineRoutes($0) }
      return listener
    }
    let secrets = try resources(.secret).values.sorted { $0.name < $1.name }.map {
      try Secret(serializedBytes: $0.bytes)
    }
    return .with {
      $0.node.id = nodeID
      $0.node.cluster = nodeID
      $0.admin.address = .socket("127.0.0.1", adminPort)
      $0.staticResources.clusters = clusters
      $0.staticResources.listeners = listeners
      $0.staticResources.secrets = secrets
    }
  }

  private func inlineRoutes(_ chain: Envoy_Config_Listener_V3_FilterChain) throws -> Envoy_Config_Listener_V3_FilterChain {
    var chain = chain
    chain.filters = try chain.filters.map { filter in
      guard filter.typedConfig.typeURL == HTTPConnectionManager.typeURL else { return filter }
      var manager = try HTTPConnectionManager(serializedBytes: filter.typedConfig.value)
      if case .rds(let rds) = manager.routeSpecifier, let routes = self[ResourceKey(.route, rds.routeConfigName)] {
        manager.routeConfig = try Envoy_Config_Route_V3_RouteConfiguration(serializedBytes: routes.bytes)
      }
      var inlined = filter
      inlined.typedConfig = try .packing(manager)
      return inlined
    }
    if chain.hasTransportSocket { chain.transportSocket = try Self.staticSecrets(chain.transportSocket) }
    return chain
  }

  /// Drops the ADS source from SDS references, so Envoy looks the names up in static secrets.
  private static func staticSecrets(_ socket: Envoy_Config_Core_V3_TransportSocket) throws
    -> Envoy_Config_Core_V3_TransportSocket
  {
    func strip(_ context: inout SecretReferences.Common) {
      for index in context.tlsCertificateSdsSecretConfigs.indices {
        context.tlsCertificateSdsSecretConfigs[index].clearSdsConfig()
      }
      switch context.validationContextType {
      case .validationContextSdsSecretConfig(var sds):
        sds.clearSdsConfig()
        context.validationContextSdsSecretConfig = sds
      case .combinedValidationContext(var combined):
        combined.validationContextSdsSecretConfig.clearSdsConfig()
        context.combinedValidationContext = combined
      default: break
      }
    }
    var socket = socket
    switch socket.typedConfig.typeURL {
    case SecretReferences.upstreamTypeURL:
      var context = try SecretReferences.Upstream(serializedBytes: socket.typedConfig.value)
      strip(&context.commonTlsContext)
      socket.typedConfig = try .packing(context)
    case SecretReferences.downstreamTypeURL:
      var context = try SecretReferences.Downstream(serializedBytes: socket.typedConfig.value)
      strip(&context.commonTlsContext)
      socket.typedConfig = try .packing(context)
    default: break
    }
    return socket
  }
}

typealias Cluster = Envoy_Config_Cluster_V3_Cluster
typealias ClusterLoadAssignment = Envoy_Config_Endpoint_V3_ClusterLoadAssignment
typealias Listener = Envoy_Config_Listener_V3_Listener
