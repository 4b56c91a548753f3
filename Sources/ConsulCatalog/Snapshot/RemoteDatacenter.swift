/// What lambda-xds knows of another WAN-federated datacenter: its mesh gateways, and the mesh
/// endpoints of each service a local upstream names there (`/v1/health/connect/<svc>?dc=`:
/// sidecars, Connect-native instances, terminating gateways of linked services).
public struct RemoteDatacenter: Sendable, Equatable {
  public var meshGateways: [ServiceInstance]
  /// By service; a service missing here has not been answered for yet (unless `isComplete`).
  public var connectEndpoints: [String: [ServiceInstance]]
  /// Described whole (a catalog file): a service missing from `connectEndpoints` has none.
  public var isComplete = false

  public init(meshGateways: [ServiceInstance] = [], connectEndpoints: [String: [ServiceInstance]] = [:]) {
    self.meshGateways = meshGateways
    self.connectEndpoints = connectEndpoints
  }

  /// A service's mesh endpoints there; nil while not answered.
  public func endpoints(of service: String) -> [ServiceInstance]? {
    connectEndpoints[service] ?? (isComplete ? [] : nil)
  }

  /// A datacenter described by its whole catalog (a catalog file's `datacenters` section): its
  /// mesh gateways and every service's mesh endpoints, terminating gateways for linked services.
  public init(_ catalog: CatalogSnapshot) {
    var endpoints = catalog.connectEndpointsByService
    for service in Set(catalog.instancesByService.keys).union(catalog.lambdas.keys) {
      let gateways = catalog.gateways(linking: service).flatMap { catalog.instancesByService[$0] ?? [] }
      if !gateways.isEmpty { endpoints[service] = gateways }
    }
    self.init(
      meshGateways: catalog.instances.values.filter { $0.kind == .meshGateway }.sorted { $0.id < $1.id },
      connectEndpoints: endpoints)
    isComplete = true
  }
}

extension CatalogSnapshot {
  /// Whether Consul knows the datacenter (`/v1/catalog/datacenters`, or remote data about it).
  public func knows(datacenter: String) -> Bool {
    datacenter == self.datacenter || datacenters.contains(datacenter) || remote[datacenter] != nil
  }

  /// This datacenter's mesh gateways.
  public var localMeshGateways: [ServiceInstance] {
    proxies.values.filter { $0.kind == .meshGateway }.sorted { $0.id < $1.id }
  }

  /// Datacenter -> the services local sidecars name as upstreams there: what the watcher asks
  /// other datacenters about.
  public var remoteUpstreams: [String: Set<String>] {
    var result: [String: Set<String>] = [:]
    for proxy in proxies.values {
      for upstream in proxy.proxy?.upstreams ?? [] where !upstream.datacenter.isEmpty && upstream.datacenter != datacenter {
        result[upstream.datacenter, default: []].insert(upstream.destinationName)
      }
    }
    return result
  }
}
