import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A terminating gateway's listener: TLS is inspected for SNI, and each linked Lambda service
/// gets a filter chain that demands the caller's mesh certificate, enforces intentions, signs
/// and invokes.
enum GatewayListener {
  struct Chain: Hashable {
    var service: String
    var sni: String
    var function: LambdaFunction
    var rbac: RBACRules
  }

  static func listener(address: String, port: Int, chains: [Chain], datacenter: String, options: TranslationOptions)
    throws -> Listener
  {
    let inspector = try Google_Protobuf_Any.packing(Envoy_Extensions_Filters_Listener_TlsInspector_V3_TlsInspector())
    return try .with {
      $0.name = MeshNames.gatewayListener(address: address, port: port)
      $0.address = .socket(address, port)
      $0.trafficDirection = .inbound
      $0.listenerFilters = [
        .with {
          $0.name = "envoy.filters.listener.tls_inspector"
          $0.typedConfig = inspector
        }
      ]
      $0.filterChains = try chains.map { try filterChain($0, datacenter: datacenter, options: options) }
    }
  }

  /// The route configuration a chain's connection manager asks for over RDS, named by the SNI.
  static func routes(sni: String) -> RouteConfiguration {
    ConnectionManagers.routes(name: sni, virtualHost: sni, cluster: sni, validateClusters: true)
  }

  private static func filterChain(_ chain: Chain, datacenter: String, options: TranslationOptions) throws
    -> FilterChain
  {
    var filters = [try HTTPFilters.rbac(chain.rbac), try HTTPFilters.router()]
    if chain.function.filterMode == .downstream {
      filters.insert(try HTTPFilters.lambda(chain.function, endpoint: options.endpoint(for: chain.function)), at: 1)
    }
    let manager = HTTPConnectionManager.with {
      $0.statPrefix = MeshNames.statPrefix(chain.service, datacenter: datacenter)
      $0.rds.configSource = .ads
      $0.rds.routeConfigName = chain.sni
      $0.httpFilters = filters
      $0.forwardClientCertDetails = .appendForward
      $0.setCurrentClientCertDetails = .with {
        $0.subject = .init(true)
        $0.cert = true
        $0.chain = true
        $0.dns = true
        $0.uri = true
      }
      $0.stripAnyHostPort = true
    }
    let networkFilter = try ConnectionManagers.networkFilter(manager)
    let socket = try TLSSockets.meshDownstream(serviceLeaf: MeshNames.leafSecret(chain.service))
    return .with {
      $0.filterChainMatch.serverNames = [chain.sni]
      $0.filters = [networkFilter]
      $0.transportSocket = socket
    }
  }
}
