import EnvoyAPI
public import ResourceCache
import SwiftProtobuf

/// A small, valid HTTP configuration for protocol tests against a real Envoy: EDS clusters, a
/// listener whose connection manager uses RDS, and the route configuration.
public struct SampleResources: Sendable {
  public var listenerPort: Int
  /// The cluster the route sends traffic to; every cluster in `clusters` gets endpoints.
  public var routeTarget = "backend"
  public var clusters = ["backend"]
  /// Changes the route configuration's content (a response header carries it).
  public var marker = "1"
  /// An aws_lambda filter ARN in the listener; "not-an-arn" makes Envoy reject the listener.
  public var lambdaARN: String?

  public static let listenerName = "http_listener"
  public static let routeName = "local_routes"

  public init(listenerPort: Int) {
    self.listenerPort = listenerPort
  }

  public func snapshot() throws -> Snapshot {
    var resources: [EncodedResource] = []
    for name in clusters {
      resources.append(try EncodedResource(Self.cluster(name)))
      resources.append(try EncodedResource(Self.endpoints(name, port: 9)))
    }
    resources.append(try EncodedResource(listener()))
    resources.append(try EncodedResource(routes()))
    return try Snapshot(resources)
  }

  static func cluster(_ name: String) -> Envoy_Config_Cluster_V3_Cluster {
    .with {
      $0.name = name
      $0.type = .eds
      $0.edsClusterConfig.edsConfig = .ads
      $0.connectTimeout = .init(seconds: 1)
    }
  }

  static func endpoints(_ name: String, port: Int) -> Envoy_Config_Endpoint_V3_ClusterLoadAssignment {
    .with {
      $0.clusterName = name
      $0.endpoints = [.with { $0.lbEndpoints = [.with { $0.endpoint.address = .socket("127.0.0.1", port) }] }]
    }
  }

  func listener() throws -> Envoy_Config_Listener_V3_Listener {
    var filters: [Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpFilter] = []
    if let lambdaARN {
      let lambda = Envoy_Extensions_Filters_Http_AwsLambda_V3_Config.with { $0.arn = lambdaARN }
      filters.append(.with {
        $0.name = "envoy.filters.http.aws_lambda"
        $0.typedConfig = try! .packing(lambda)
      })
    }
    filters.append(.with {
      $0.name = "envoy.filters.http.router"
      $0.typedConfig = try! .packing(Envoy_Extensions_Filters_Http_Router_V3_Router())
    })
    let manager = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager.with {
      $0.statPrefix = "ingress"
      $0.rds.configSource = .ads
      $0.rds.routeConfigName = Self.routeName
      $0.httpFilters = filters
    }
    let connectionManager = try Envoy_Config_Listener_V3_Filter.with {
      $0.name = "envoy.filters.network.http_connection_manager"
      $0.typedConfig = try .packing(manager)
    }
    return .with {
      $0.name = Self.listenerName
      // Changing a listener-level field makes Envoy replace the listener rather than update its
      // filter chains in place; after an in-place update Envoy 1.40 keeps reporting the previous
      // version_info in /config_dump, which would hide whether the new version arrived.
      $0.statPrefix = "http_\(marker)"
      $0.address = .socket("127.0.0.1", listenerPort)
      $0.filterChains = [.with { $0.filters = [connectionManager] }]
    }
  }

  func routes() -> Envoy_Config_Route_V3_RouteConfiguration {
    Envoy_Config_Route_V3_RouteConfiguration.with {
      $0.name = Self.routeName
      $0.virtualHosts = [
        .with {
          $0.name = "all"
          $0.domains = ["*"]
          $0.routes = [
            .with {
              $0.match.prefix = "/"
              $0.route.cluster = routeTarget
              $0.responseHeadersToAdd = [
                .with {
                  $0.header.key = "x-config-marker"
                  $0.header.value = marker
                }
              ]
            }
          ]
        }
      ]
    }
  }
}
