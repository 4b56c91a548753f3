import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A terminating gateway's listener: TLS is inspected for SNI, and each linked service gets a
/// filter chain that demands the caller's mesh certificate and enforces intentions; a Lambda
/// service's chain then signs and invokes, any other service's forwards to its cluster (TCP, or
/// HTTP over its route).
struct GatewayListener: ResourceSpec {
  struct Chain: Hashable {
    enum Kind: Hashable {
      case lambda(LambdaFunction)
      case tcp
      case http(protocol: String)
    }

    var service: String
    var sni: String
    var kind: Kind
    var rbac: RBACRules

    var function: LambdaFunction? { if case .lambda(let function) = kind { function } else { nil } }
  }

  var address: String
  var port: Int
  var chains: [Chain]

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    let (datacenter, options) = (environment.datacenter, environment.options)
    let inspector = try Google_Protobuf_Any.packing(Envoy_Extensions_Filters_Listener_TlsInspector_V3_TlsInspector())
    return try EncodedResource(Listener.with {
      $0.name = MeshNames.gatewayListener(address: address, port: port)
      $0.address = .socket(address, port)
      $0.trafficDirection = .inbound
      $0.listenerFilters = [
        .with {
          $0.name = "envoy.filters.listener.tls_inspector"
          $0.typedConfig = inspector
        }
      ]
      $0.filterChains = try chains.map { try Self.filterChain($0, datacenter: datacenter, options: options) }
      // The gateway buffers each call whole to sign it: room for the largest linked function's.
      if let limit = chains.compactMap(\.function?.maxRequestBytes).max() { $0.perConnectionBufferLimitBytes = .init(UInt32(limit)) }
    })
  }

  /// The route configuration a chain's connection manager asks for over RDS, named by the SNI.
  ///
  /// It carries the intentions (and the Lambda settings) as per-route configuration: a route
  /// update reaches connections already open at once, while a listener update would leave them
  /// on the old filter chain until they drain, letting a newly denied caller through meanwhile.
  struct Routes: ResourceSpec {
    var chain: Chain

    func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
      try EncodedResource(try GatewayListener.routes(chain, options: environment.options))
    }
  }

  private static func routes(_ chain: Chain, options: TranslationOptions) throws -> RouteConfiguration {
    var routes = ConnectionManagers.routes(name: chain.sni, virtualHost: chain.sni, cluster: chain.sni, validateClusters: true) {
      if let function = chain.function {
        HTTPFilters.lambdaTimeouts(function, &$0)
      } else {
        // As Consul: the service sees its own host name, not the mesh's.
        $0.autoHostRewrite = .init(true)
      }
    }
    var perFilter = [
      HTTPFilters.rbacName: try Google_Protobuf_Any.packing(
        Envoy_Extensions_Filters_Http_Rbac_V3_RBACPerRoute.with { $0.rbac.rules = chain.rbac })
    ]
    if let function = chain.function, function.filterMode == .downstream {
      perFilter[HTTPFilters.lambdaName] = try Google_Protobuf_Any.packing(
        Envoy_Extensions_Filters_Http_AwsLambda_V3_PerRouteConfig.with {
          $0.invokeConfig = HTTPFilters.lambdaConfig(function, endpoint: options.endpoint(for: function))
        })
    }
    routes.virtualHosts[0].routes[0].typedPerFilterConfig = perFilter
    return routes
  }

  /// The listener-level RBAC: deny everyone. Only the route's intentions let callers in, so a
  /// request that somehow misses them is refused, not allowed.
  static let denyAll = RBACRules.with { $0.action = .allow }

  private static func filterChain(_ chain: Chain, datacenter: String, options: TranslationOptions) throws
    -> FilterChain
  {
    let statPrefix = MeshNames.statPrefix(chain.service, datacenter: datacenter)
    let socket = try TLSSockets.meshDownstream(serviceLeaf: MeshNames.leafSecret(chain.service))
    if chain.kind == .tcp {
      let filters = [try NetworkFilters.rbac(chain.rbac), try NetworkFilters.tcpProxy(statPrefix: statPrefix, cluster: chain.sni)]
      return .with {
        $0.filterChainMatch.serverNames = [chain.sni]
        $0.filters = filters
        $0.transportSocket = socket
      }
    }
    var filters = [try HTTPFilters.rbac(denyAll)]
    if let function = chain.function {
      if let errors = try HTTPFilters.functionErrors(function, options) { filters.append(errors) }
      if function.filterMode == .downstream {
        filters.append(try HTTPFilters.lambda(function, endpoint: options.endpoint(for: function)))
      }
    }
    filters.append(try HTTPFilters.router())
    var manager = HTTPConnectionManager.with {
      $0.statPrefix = statPrefix
      $0.rds.configSource = .ads
      $0.rds.routeConfigName = chain.sni
      $0.httpFilters = filters
      // A port in Host would break a Lambda signature.
      if chain.function != nil { $0.stripAnyHostPort = true }
      if case .http(let proto) = chain.kind, ["http2", "grpc"].contains(proto) { $0.http2ProtocolOptions = .init() }
    }
    ConnectionManagers.forwardClientCertificate(&manager)
    let networkFilter = try ConnectionManagers.networkFilter(manager)
    return .with {
      $0.filterChainMatch.serverNames = [chain.sni]
      $0.filters = [networkFilter]
      $0.transportSocket = socket
    }
  }
}
