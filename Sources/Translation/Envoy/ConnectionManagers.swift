import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// HTTP connection managers and the routes behind them.
enum ConnectionManagers {
  enum Routes {
    /// Over RDS (same ADS stream): a route change reaches connections already open.
    case rds(String)
    case inline(RouteConfiguration)
  }

  /// A connection manager as Consul configures one: 0% random tracing, HTTP/2 options for
  /// `http2` and `grpc`.
  static func manager(statPrefix: String, protocol: String, routes: Routes, filters: [HTTPFilter]) -> HTTPConnectionManager {
    .with {
      $0.statPrefix = statPrefix
      switch routes {
      case .rds(let name):
        $0.rds.configSource = .ads
        $0.rds.routeConfigName = name
      case .inline(let configuration):
        $0.routeConfig = configuration
      }
      $0.httpFilters = filters
      $0.tracing.randomSampling = .init()
      if ["http2", "grpc"].contains(`protocol`) { $0.http2ProtocolOptions = .init() }
    }
  }

  /// A route configuration with one virtual host sending everything to `cluster`. No
  /// `auto_host_rewrite`: rewriting Host after the Lambda filter signed it breaks the signature.
  static func routes(
    name: String, virtualHost: String, cluster: String, validateClusters: Bool = false,
    match: Envoy_Config_Route_V3_RouteMatch = .with { $0.prefix = "/" },
    action: (inout Envoy_Config_Route_V3_RouteAction) -> Void = { _ in }
  ) -> RouteConfiguration {
    .with {
      $0.name = name
      if validateClusters { $0.validateClusters = .init(true) }
      $0.virtualHosts = [
        .with {
          $0.name = virtualHost
          $0.domains = ["*"]
          $0.routes = [
            .with {
              $0.match = match
              $0.route.cluster = cluster
              action(&$0.route)
            }
          ]
        }
      ]
    }
  }

  /// A signing connection manager on a sidecar (a direct Lambda upstream or canary): its route
  /// inline, as in Consul, and `strip_any_host_port`, because a port in Host would break the
  /// signature.
  static func lambdaNetworkFilter(statPrefix: String, routes: RouteConfiguration, filters: [HTTPFilter]) throws
    -> NetworkFilter
  {
    var manager = manager(
      statPrefix: statPrefix, protocol: "http", routes: .inline(routes), filters: try HTTPFilters.upstream(protocol: "http", before: filters))
    manager.stripAnyHostPort = true
    return try networkFilter(manager)
  }

  /// Wraps a connection manager as the network filter of a filter chain.
  static func networkFilter(_ manager: HTTPConnectionManager) throws -> NetworkFilter {
    try NetworkFilters.filter("envoy.filters.network.http_connection_manager", manager)
  }

  /// Forwards the caller's certificate details to the application in
  /// `x-forwarded-client-cert`, as Consul does on inbound HTTP.
  static func forwardClientCertificate(_ manager: inout HTTPConnectionManager) {
    manager.forwardClientCertDetails = .appendForward
    manager.setCurrentClientCertDetails = .with {
      $0.subject = .init(true)
      $0.cert = true
      $0.chain = true
      $0.dns = true
      $0.uri = true
    }
  }
}
