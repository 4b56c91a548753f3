import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// What a sidecar does with a connection for one upstream, on its own listener or on a
/// transparent proxy's filter chain. Stat prefixes are Consul's `upstream.<svc>.default.default.<dc>`.
enum UpstreamFilter: Hashable {
  /// `tcp_proxy` to the cluster.
  case tcp(cluster: String)
  /// A connection manager whose route arrives over RDS under `route` (the upstream's id).
  case http(protocol: String, route: String)
  /// Direct Lambda: `aws_lambda` before the router (downstream mode), in a signing connection
  /// manager (``ConnectionManagers/lambdaNetworkFilter(statPrefix:routes:filters:)``). `intentions`
  /// (nil: none to enforce) is HTTP RBAC for this caller, first, so a denied request is never signed.
  case lambda(LambdaFunction, cluster: String, route: String, intentions: RBACRules?)
  /// A canary between direct Lambda services (a service-splitter).
  case lambdaSplit(LambdaSplit)

  /// - Parameter datacenter: the service's datacenter; nil: this one.
  func networkFilter(service: String, datacenter: String? = nil, environment: TranslationEnvironment) throws -> NetworkFilter {
    let statPrefix = MeshNames.statPrefix(service, datacenter: datacenter ?? environment.datacenter)
    switch self {
    case .tcp(let cluster):
      return try NetworkFilters.tcpProxy(statPrefix: statPrefix, cluster: cluster)
    case .http(let proto, let route):
      return try ConnectionManagers.networkFilter(
        ConnectionManagers.manager(
          statPrefix: statPrefix, protocol: proto, routes: .rds(route), filters: try HTTPFilters.upstream(protocol: proto)))
    case .lambda(let function, let cluster, let route, let intentions):
      let rbac = try intentions.map { [try HTTPFilters.rbac($0)] } ?? []
      let errors = try HTTPFilters.functionErrors(function, environment.options).map { [$0] } ?? []
      let lambda = function.filterMode == .downstream
        ? [try HTTPFilters.lambda(function, endpoint: environment.options.endpoint(for: function))] : []
      return try ConnectionManagers.lambdaNetworkFilter(
        statPrefix: statPrefix,
        routes: ConnectionManagers.routes(
          name: route, virtualHost: MeshNames.filterName(service, datacenter: environment.datacenter), cluster: cluster,
          action: { HTTPFilters.lambdaTimeouts(function, &$0) }),
        filters: rbac + errors + lambda)
    case .lambdaSplit(let split):
      return try split.networkFilter(service: service, environment: environment)
    }
  }

  /// The connection buffer a listener needs for this filter: the aws_lambda filter buffers the
  /// whole request (and a synchronous response), and answers 413 past the listener's limit.
  var bufferLimitBytes: Int? {
    switch self {
    case .lambda(let function, _, _, _): function.maxRequestBytes
    case .lambdaSplit(let split): split.targets.map(\.function.maxRequestBytes).max()
    case .tcp, .http: nil
    }
  }
}

/// An explicit upstream's listener, `<id>:<bind-address>:<port>`, where the local application
/// connects to reach the service.
struct UpstreamListener: ResourceSpec {
  var id: String
  var service: String
  var address: String
  var port: Int
  var filter: UpstreamFilter
  /// The service's datacenter; nil: this one.
  var datacenter: String? = nil

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    let networkFilter = try filter.networkFilter(service: service, datacenter: datacenter, environment: environment)
    return try EncodedResource(
      Listener.with {
        $0.name = MeshNames.upstreamListener(id, address: address, port: port)
        $0.address = .socket(address, port)
        $0.trafficDirection = .outbound
        $0.filterChains = [.with { $0.filters = [networkFilter] }]
        if let limit = filter.bufferLimitBytes { $0.perConnectionBufferLimitBytes = .init(UInt32(limit)) }
      })
  }
}

/// The route of an HTTP upstream (RDS, named after the upstream's id): everything to the
/// service's cluster.
struct UpstreamRoute: ResourceSpec {
  var id: String
  var cluster: String
  /// A Lambda service through the gateway: the sidecar's route waits as long as the gateway's.
  var lambda: LambdaFunction? = nil
  /// A canary between Lambda services through the gateway: (cluster, weight in hundredths of a
  /// percent); the gateway applies each function's settings on its own SNI chain.
  var weighted: [Weight] = []

  struct Weight: Hashable {
    var cluster: String
    var weight: Int
  }

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    try EncodedResource(
      ConnectionManagers.routes(name: id, virtualHost: id, cluster: cluster, validateClusters: true) { action in
        if let lambda { HTTPFilters.lambdaTimeouts(lambda, &action) }
        if !weighted.isEmpty {
          action.weightedClusters.clusters = weighted.map { target in
            .with {
              $0.name = target.cluster
              $0.weight = .init(UInt32(target.weight))
            }
          }
        }
      })
  }
}
