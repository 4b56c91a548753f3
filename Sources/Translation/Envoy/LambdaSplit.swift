import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A canary on the direct path: a `service-splitter` whose splits are Lambda services becomes
/// one route with weighted clusters, each weight carrying its function's `aws_lambda` settings
/// (and its intentions for this caller) as per-weight filter configuration.
struct LambdaSplit: Hashable {
  struct Target: Hashable {
    var service: String
    var function: LambdaFunction
    var cluster: String
    /// Hundredths of a percent (Consul's split weights times 100).
    var weight: Int
    /// HTTP RBAC for this caller; nil: nothing to enforce.
    var intentions: RBACRules?
  }

  var targets: [Target]
  /// The upstream's id, the inline route configuration's name.
  var route: String

  /// The target that waits longest: the route's timeouts are its.
  var longest: LambdaFunction { targets.map(\.function).max { $0.timeoutMilliseconds < $1.timeoutMilliseconds }! }

  /// Whether every target maps function errors to the same status (one filter serves them all).
  func mapsFunctionErrorsAlike(_ options: TranslationOptions) -> Bool {
    Set(targets.map { options.functionErrorStatus(for: $0.function) }).count == 1
  }

  /// The connection manager: RBAC (per weight), `custom_response` when every target maps
  /// function errors alike, `aws_lambda` (its listener-level config is the first target's; each
  /// weight overrides it), the router.
  func networkFilter(service: String, environment: TranslationEnvironment) throws -> NetworkFilter {
    let options = environment.options
    let first = targets[0].function
    var filters: [HTTPFilter] = []
    if targets.contains(where: { $0.intentions != nil }) {
      filters.append(try HTTPFilters.rbacWithoutRules())
    }
    if mapsFunctionErrorsAlike(options), let errors = try HTTPFilters.functionErrors(first, options) {
      filters.append(errors)
    }
    if first.filterMode == .downstream { filters.append(try HTTPFilters.lambda(first, endpoint: options.endpoint(for: first))) }
    let weights = try targets.map { target in
      var perFilter: [String: Google_Protobuf_Any] = [:]
      if target.function.filterMode == .downstream {
        perFilter[HTTPFilters.lambdaName] = try .packing(
          Envoy_Extensions_Filters_Http_AwsLambda_V3_PerRouteConfig.with {
            $0.invokeConfig = HTTPFilters.lambdaConfig(target.function, endpoint: options.endpoint(for: target.function))
          })
      }
      if let rules = target.intentions {
        perFilter[HTTPFilters.rbacName] = try .packing(Envoy_Extensions_Filters_Http_Rbac_V3_RBACPerRoute.with { $0.rbac.rules = rules })
      }
      return Envoy_Config_Route_V3_WeightedCluster.ClusterWeight.with {
        $0.name = target.cluster
        $0.weight = .init(UInt32(target.weight))
        $0.typedPerFilterConfig = perFilter
      }
    }
    let routes = ConnectionManagers.routes(
      name: route, virtualHost: MeshNames.filterName(service, datacenter: environment.datacenter), cluster: targets[0].cluster
    ) { action in
      action.weightedClusters.clusters = weights
      HTTPFilters.lambdaTimeouts(longest, &action)
    }
    return try ConnectionManagers.lambdaNetworkFilter(
      statPrefix: MeshNames.statPrefix(service, datacenter: environment.datacenter), routes: routes, filters: filters)
  }
}
