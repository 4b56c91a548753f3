import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// HTTP connection managers and the routes behind them.
enum ConnectionManagers {
  static let networkFilterName = "envoy.filters.network.http_connection_manager"

  /// A route configuration with one virtual host sending everything to `cluster`. No
  /// `auto_host_rewrite`: rewriting Host after the Lambda filter signed it breaks the signature.
  static func routes(name: String, virtualHost: String, cluster: String, validateClusters: Bool = false)
    -> RouteConfiguration
  {
    .with {
      $0.name = name
      if validateClusters { $0.validateClusters = .init(true) }
      $0.virtualHosts = [
        .with {
          $0.name = virtualHost
          $0.domains = ["*"]
          $0.routes = [
            .with {
              $0.match.prefix = "/"
              $0.route.cluster = cluster
            }
          ]
        }
      ]
    }
  }

  /// Wraps a connection manager as the network filter of a filter chain.
  static func networkFilter(_ manager: HTTPConnectionManager) throws -> NetworkFilter {
    let any = try Google_Protobuf_Any.packing(manager)
    return .with {
      $0.name = networkFilterName
      $0.typedConfig = any
    }
  }
}
