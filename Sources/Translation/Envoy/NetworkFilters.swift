import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// The L4 filters of filter chains: TCP proxying and connection-level RBAC.
enum NetworkFilters {
  static func tcpProxy(statPrefix: String, cluster: String) throws -> NetworkFilter {
    try filter(
      "envoy.filters.network.tcp_proxy",
      TCPProxy.with {
        $0.statPrefix = statPrefix
        $0.cluster = cluster
      })
  }

  /// Intentions on a TCP service: decided once, when the connection opens.
  static func rbac(_ rules: RBACRules) throws -> NetworkFilter {
    try filter(
      "envoy.filters.network.rbac",
      NetworkRBAC.with {
        $0.rules = rules
        $0.statPrefix = MeshNames.connectAuthz
      })
  }

  static func filter(_ name: String, _ config: some Message) throws -> NetworkFilter {
    let any = try Google_Protobuf_Any.packing(config)
    return .with {
      $0.name = name
      $0.typedConfig = any
    }
  }
}
