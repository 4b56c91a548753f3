import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A sidecar's inbound listener, `public_listener:<address>:<port>`: mTLS with the service's
/// leaf and client certificates required, intentions enforced, then `local_app`.
///
/// TCP services get Consul's network RBAC and `tcp_proxy`. HTTP services get Consul's connection
/// manager, but the intentions ride on its route (RDS `public_listener`) as per-route RBAC,
/// with the listener's own RBAC denying everything: a route update reaches connections that
/// are already open, so a new deny applies at once instead of after the old chain drained.
struct PublicListener: ResourceSpec {
  var address: String
  var port: Int
  var service: String
  var `protocol`: String
  /// The intentions as RBAC (TCP: on the listener).
  var rules: RBACRules
  var sanitizeClientCertificate: Bool

  var isHTTP: Bool { UpstreamSettings.isHTTP(`protocol`) }

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    let filters: [NetworkFilter]
    if isHTTP {
      var httpFilters = [try HTTPFilters.rbac(GatewayListener.denyAll)]
      // Consul forwards the caller's certificate to HTTP apps, not to gRPC ones.
      let forwards = `protocol` != "grpc" && !sanitizeClientCertificate
      if forwards { httpFilters.append(try HTTPFilters.clientIdentityMetadata()) }
      if `protocol` == "grpc" { httpFilters = try HTTPFilters.grpcFilters() + httpFilters }
      httpFilters.append(try HTTPFilters.router())
      var manager = ConnectionManagers.manager(
        statPrefix: MeshNames.publicListenerPrefix, protocol: `protocol`, routes: .rds(MeshNames.publicListenerPrefix),
        filters: httpFilters)
      if forwards { ConnectionManagers.forwardClientCertificate(&manager) }
      filters = [try ConnectionManagers.networkFilter(manager)]
    } else {
      filters = [
        try NetworkFilters.rbac(rules),
        try NetworkFilters.tcpProxy(statPrefix: MeshNames.publicListenerPrefix, cluster: MeshNames.localApp),
      ]
    }
    let alpn: [String] =
      switch `protocol` {
      case "http": ["http/1.1"]
      case "http2", "grpc": ["h2", "http/1.1"]
      default: []
      }
    let socket = try TLSSockets.meshDownstream(serviceLeaf: MeshNames.leafSecret(service), alpn: alpn)
    return try EncodedResource(
      Listener.with {
        $0.name = MeshNames.publicListener(address: address, port: port)
        $0.address = .socket(address, port)
        $0.trafficDirection = .inbound
        $0.filterChains = [
          .with {
            $0.filters = filters
            $0.transportSocket = socket
          }
        ]
      })
  }
}

/// The inbound HTTP route (`public_listener`): everything to `local_app`, with Consul's local
/// timeouts and the intentions as per-route RBAC.
struct PublicRoute: ResourceSpec {
  var rules: RBACRules
  var requestTimeoutMilliseconds: Int?
  var idleTimeoutMilliseconds: Int?

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    let name = MeshNames.publicListenerPrefix
    var routes = ConnectionManagers.routes(name: name, virtualHost: name, cluster: MeshNames.localApp) { action in
      requestTimeoutMilliseconds.map { action.timeout = .milliseconds($0) }
      idleTimeoutMilliseconds.map { action.idleTimeout = .milliseconds($0) }
    }
    routes.virtualHosts[0].routes[0].typedPerFilterConfig = [
      HTTPFilters.rbacName: try .packing(Envoy_Extensions_Filters_Http_Rbac_V3_RBACPerRoute.with { $0.rbac.rules = rules })
    ]
    return try EncodedResource(routes)
  }
}
