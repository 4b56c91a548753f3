/// Everything lambda-xds knows about the catalog at one moment: a value, equal when nothing
/// relevant changed, so an unchanged catalog is never republished.
///
/// Instances are changed through ``upsert(_:)``, ``removeInstance(id:)`` and
/// ``replaceInstances(ofService:with:)``, which keep the indexes every translation reads (by
/// service, mesh endpoints, proxies, gateways by service) up to date at the cost of what changed,
/// so a change never costs a pass over the whole catalog.
public struct CatalogSnapshot: Sendable, Equatable {
  public var datacenter: String
  /// `<cluster-id>.consul`, from the Connect CA roots (nil until known).
  public var trustDomain: String?
  /// Every service instance, by service ID.
  public private(set) var instances: [String: ServiceInstance] = [:]
  /// Every instance by service name, in id order.
  public private(set) var instancesByService: [String: [ServiceInstance]] = [:]
  /// Each service's mesh endpoints, as Consul's `/v1/health/connect/<service>` lists them: the
  /// sidecar proxies whose destination it is and its Connect-native instances, in id order.
  /// Health is not filtered: Consul sends every endpoint with its health.
  public private(set) var connectEndpointsByService: [String: [ServiceInstance]] = [:]
  /// Sidecars, terminating and mesh gateways: the proxies lambda-xds configures, by service ID (which
  /// is also the Envoy node id).
  public private(set) var proxies: [String: ServiceInstance] = [:]
  /// Services declared as Lambda functions (valid or not), by service name.
  public var lambdas: [String: LambdaRegistration]
  /// Terminating gateway service name -> the services it links.
  public var gatewayLinks: [String: [String]] {
    didSet { gatewaysByService = Self.index(gatewayLinks) }
  }
  /// For every service, the gateways linking it (a wildcard link is under `"*"`).
  public private(set) var gatewaysByService: [String: [String]] = [:]
  /// service-intentions entries by destination name (`*` included).
  public var intentions: [String: ServiceIntentions]
  /// Every service-defaults entry, by service name.
  public var serviceDefaults: [String: ServiceDefaults]
  /// The `proxy-defaults` entry (empty when there is none).
  public var proxyDefaults: ProxyDefaults
  /// The `mesh` entry (defaults when there is none).
  public var mesh: MeshConfig
  /// service-splitter entries by service name.
  public var splitters: [String: ServiceSplitter] = [:]
  /// Terminating gateway -> linked service -> the TLS it originates to that service.
  public var gatewayTLS: [String: [String: OriginationTLS]] = [:]
  /// Objects that could not be read at all (a broken registration or config entry), with why.
  public var rejectedObjects: [String]
  /// Consul's `X-Consul-Default-Acl-Policy` (`allow` or `deny`); nil for a catalog file.
  public var aclDefaultPolicy: String?
  /// lambda-xds's settings per service from Consul KV (``LambdaSettingsKV``), as read; they
  /// take effect in ``lambdas``.
  public internal(set) var lambdaSettings: [String: JSONValue] = [:]
  /// Every datacenter Consul knows (`/v1/catalog/datacenters`), this one included; empty when
  /// only this one is known.
  public var datacenters: [String] = []
  /// Other datacenters' mesh gateways and the endpoints of the services named there.
  public var remote: [String: RemoteDatacenter] = [:]

  public init(
    datacenter: String, trustDomain: String? = nil, instances: [ServiceInstance] = [],
    lambdas: [String: LambdaRegistration] = [:], gatewayLinks: [String: [String]] = [:],
    intentions: [String: ServiceIntentions] = [:], serviceDefaults: [String: ServiceDefaults] = [:],
    proxyDefaults: ProxyDefaults = ProxyDefaults(), mesh: MeshConfig = MeshConfig(), rejectedObjects: [String] = []
  ) {
    self.datacenter = datacenter
    self.trustDomain = trustDomain
    self.lambdas = lambdas
    self.gatewayLinks = gatewayLinks
    self.gatewaysByService = Self.index(gatewayLinks)
    self.intentions = intentions
    self.serviceDefaults = serviceDefaults
    self.proxyDefaults = proxyDefaults
    self.mesh = mesh
    self.rejectedObjects = rejectedObjects
    // The indexes in one pass (what `setInstances` keeps up per service afterwards).
    self.instances.reserveCapacity(instances.count)
    for instance in instances { self.instances[instance.id] = instance }
    var byService: [String: [ServiceInstance]] = [:]
    var endpoints: [String: [ServiceInstance]] = [:]
    byService.reserveCapacity(instances.count)
    for instance in self.instances.values {
      byService[instance.name, default: []].append(instance)
      if instance.kind.isConfigured { proxies[instance.id] = instance }
      if let destination = Self.endpointService(instance) { endpoints[destination, default: []].append(instance) }
    }
    instancesByService = byService.mapValues { $0.count < 2 ? $0 : $0.sorted { $0.id < $1.id } }
    connectEndpointsByService = endpoints.mapValues { $0.count < 2 ? $0 : $0.sorted { $0.id < $1.id } }
  }

  /// Builds the snapshot from registrations and config entries, the way Consul itself would see
  /// them. A malformed object is skipped and recorded in `rejectedObjects`; the rest is kept.
  public init(
    datacenter: String, registrations: [JSONValue], configEntries: [JSONValue], trustDomain: String? = nil,
    lambdaSettings: [String: JSONValue] = [:]
  ) {
    var parsed: [ServiceInstance] = []
    parsed.reserveCapacity(registrations.count)
    var rejected: [String] = []
    for (index, body) in registrations.enumerated() {
      do {
        parsed.append(try ServiceInstance(registration: body))
      } catch {
        rejected.append("registration #\(index + 1): \(error)")
      }
    }
    self.init(datacenter: datacenter, trustDomain: trustDomain, instances: parsed, rejectedObjects: rejected)
    rejectedObjects += apply(
      configEntries.map { body in Result { () throws(CatalogError) in try ConfigEntry(body) } }, previousLambdas: [:],
      settings: lambdaSettings)
  }

  // MARK: Changing instances

  /// Adds or replaces one instance.
  public mutating func upsert(_ instance: ServiceInstance) {
    if let previous = instances[instance.id], previous.name != instance.name { removeInstance(id: previous.id) }
    instances[instance.id] = instance
    var list = instancesByService[instance.name] ?? []
    list.removeAll { $0.id == instance.id }
    list.append(instance)
    setInstances(list, ofService: instance.name)
  }

  public mutating func removeInstance(id: String) {
    guard let previous = instances.removeValue(forKey: id) else { return }
    setInstances((instancesByService[previous.name] ?? []).filter { $0.id != id }, ofService: previous.name)
  }

  /// Replaces every instance of a service (what one `/v1/health/service/<name>` answer says).
  public mutating func replaceInstances(ofService service: String, with list: [ServiceInstance]) {
    for instance in instancesByService[service] ?? [] { instances[instance.id] = nil }
    var kept: [ServiceInstance] = []
    for instance in list where instance.name == service {
      if let other = instances[instance.id] { removeInstance(id: other.id) }
      instances[instance.id] = instance
      kept.append(instance)
    }
    setInstances(kept, ofService: service)
  }

  /// Stores a service's instances (in id order) and updates the indexes derived from them, at
  /// the cost of that service's instances and the endpoint lists they belong to.
  private mutating func setInstances(_ list: [ServiceInstance], ofService service: String) {
    let old = instancesByService[service] ?? []
    let sorted = list.sorted { $0.id < $1.id }
    instancesByService[service] = sorted.isEmpty ? nil : sorted
    for instance in old { proxies[instance.id] = nil }
    for instance in sorted where instance.kind.isConfigured {
      proxies[instance.id] = instance
    }
    let ids = Set(old.map(\.id)).union(sorted.map(\.id))
    let touched = Set(old.compactMap(Self.endpointService)).union(sorted.compactMap(Self.endpointService))
    for destination in touched {
      var endpoints = (connectEndpointsByService[destination] ?? []).filter { !ids.contains($0.id) }
      endpoints += sorted.filter { Self.endpointService($0) == destination }
      endpoints.sort { $0.id < $1.id }
      connectEndpointsByService[destination] = endpoints.isEmpty ? nil : endpoints
    }
  }

  /// The service whose mesh endpoint an instance is: a sidecar's destination, a native
  /// instance's own service.
  static func endpointService(_ instance: ServiceInstance) -> String? {
    if instance.kind == .connectProxy { return instance.proxy?.destinationServiceName }
    return instance.kind == .typical && instance.connectNative ? instance.name : nil
  }

  // MARK: Reading

  /// Healthy instances of a service (for gateways: where sidecars send gated Lambda traffic).
  public func healthyInstances(of service: String) -> [ServiceInstance] {
    (instancesByService[service] ?? []).filter(\.healthy)
  }

  /// The terminating gateways that link a service (directly or by `*`).
  public func gateways(linking service: String) -> [String] {
    let wildcard = coveredByWildcard(service) ? gatewaysByService["*"] ?? [] : []
    return Set((gatewaysByService[service] ?? []) + wildcard).sorted()
  }

  /// The services a terminating gateway fronts. Its `*` link means every service outside the
  /// mesh: every Lambda service, and every service with instances but no sidecar or
  /// Connect-native instance (a mesh service keeps its own sidecars).
  public func services(linkedTo gateway: String) -> Set<String> {
    var linked = Set(gatewayLinks[gateway] ?? [])
    if linked.remove("*") != nil {
      linked.formUnion(lambdas.keys)
      linked.formUnion(instancesByService.keys.filter { $0 != gateway && coveredByWildcard($0) })
    }
    return linked
  }

  /// Whether a `*` link reaches the service: a Lambda service, or one outside the mesh.
  private func coveredByWildcard(_ service: String) -> Bool {
    if lambdas[service] != nil { return true }
    guard service != "consul", connectEndpointsByService[service] == nil, let instances = instancesByService[service] else {
      return false
    }
    return instances.allSatisfy { $0.kind == .typical }
  }

  private static func index(_ links: [String: [String]]) -> [String: [String]] {
    var result: [String: [String]] = [:]
    for (gateway, services) in links.sorted(by: { $0.key < $1.key }) {
      for service in Set(services) { result[service, default: []].append(gateway) }
    }
    return result
  }

  public static func == (lhs: Self, rhs: Self) -> Bool {
    // The indexes follow from the instances and links; comparing those is enough.
    lhs.datacenter == rhs.datacenter && lhs.trustDomain == rhs.trustDomain && lhs.instances == rhs.instances
      && lhs.lambdas == rhs.lambdas && lhs.gatewayLinks == rhs.gatewayLinks && lhs.intentions == rhs.intentions
      && lhs.serviceDefaults == rhs.serviceDefaults && lhs.proxyDefaults == rhs.proxyDefaults && lhs.mesh == rhs.mesh
      && lhs.rejectedObjects == rhs.rejectedObjects && lhs.aclDefaultPolicy == rhs.aclDefaultPolicy
      && lhs.splitters == rhs.splitters && lhs.gatewayTLS == rhs.gatewayTLS && lhs.datacenters == rhs.datacenters
      && lhs.remote == rhs.remote
  }
}

extension CatalogSnapshot {
  /// Services whose identity a proxy presents: each sidecar's own service and every service a
  /// terminating gateway fronts.
  public var servicesNeedingLeaves: Set<String> {
    // Read on every change: one set, not one per proxy.
    var services = Set<String>(minimumCapacity: proxies.count)
    for proxy in proxies.values {
      if let destination = proxy.proxy?.destinationServiceName {
        services.insert(destination)
      } else {
        services.formUnion(servicesNeedingLeaves(of: proxy))
      }
    }
    return services
  }

  /// The services whose identity one proxy presents.
  public func servicesNeedingLeaves(of proxy: ServiceInstance) -> Set<String> {
    if let destination = proxy.proxy?.destinationServiceName { return [destination] }
    return proxy.kind == .terminatingGateway ? services(linkedTo: proxy.name) : []
  }
}
