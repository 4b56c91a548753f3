import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf
import ResourceCache

/// The outbound listener a sidecar opens for one upstream, where the local application sends
/// its requests (Consul's `<upstream>:<address>:<port>` listener).
enum SidecarListener {
  /// Direct mode: the sidecar itself invokes the function. `aws_lambda` sits immediately before
  /// the router; `strip_any_host_port` because a port in Host would break the signature.
  static func direct(
    _ upstream: Upstream, function: LambdaFunction, cluster: String, datacenter: String,
    options: TranslationOptions
  ) throws -> Listener {
    var filters = [try HTTPFilters.router()]
    if function.filterMode == .downstream {
      filters.insert(try HTTPFilters.lambda(function, endpoint: options.endpoint(for: function)), at: 0)
    }
    return try make(upstream, cluster: cluster, datacenter: datacenter, filters: filters, stripPort: true)
  }

  /// Gateway mode: a plain mesh upstream; the gateway signs, the sidecar only forwards.
  static func gated(_ upstream: Upstream, cluster: String, datacenter: String) throws -> Listener {
    try make(upstream, cluster: cluster, datacenter: datacenter, filters: [try HTTPFilters.router()], stripPort: false)
  }

  private static func make(
    _ upstream: Upstream, cluster: String, datacenter: String, filters: [HTTPFilter], stripPort: Bool
  ) throws -> Listener {
    let service = upstream.destinationName
    let manager = HTTPConnectionManager.with {
      $0.statPrefix = MeshNames.statPrefix(service, datacenter: datacenter)
      $0.routeConfig = ConnectionManagers.routes(
        name: service, virtualHost: MeshNames.virtualHost(service, datacenter: datacenter), cluster: cluster)
      $0.httpFilters = filters
      if stripPort { $0.stripAnyHostPort = true }
    }
    let filter = try ConnectionManagers.networkFilter(manager)
    return .with {
      $0.name = MeshNames.upstreamListener(service, address: upstream.localBindAddress, port: upstream.localBindPort)
      $0.address = .socket(upstream.localBindAddress, upstream.localBindPort)
      $0.trafficDirection = .outbound
      $0.filterChains = [.with { $0.filters = [filter] }]
    }
  }
}
