/// Everything lambda-xds knows about the catalog at one moment: an immutable value, equal when
/// nothing relevant changed, so an unchanged catalog is never republished.
public struct CatalogSnapshot: Sendable, Equatable {
  public var datacenter: String
  /// `<cluster-id>.consul`, from the Connect CA roots (nil until known).
  public var trustDomain: String?
  /// Every service instance, by service ID.
  public var instances: [String: ServiceInstance]
  /// Services declared as Lambda functions (valid or not), by service name.
  public var lambdas: [String: LambdaRegistration]
  /// Terminating gateway service name -> the services it links.
  public var gatewayLinks: [String: [String]]
  /// service-intentions entries by destination name (`*` included).
  public var intentions: [String: ServiceIntentions]
  /// Every service-defaults entry, by service name.
  public var serviceDefaults: [String: ServiceDefaults]
  /// The `proxy-defaults` entry (empty when there is none).
  public var proxyDefaults: ProxyDefaults
  /// The `mesh` entry (defaults when there is none).
  public var mesh: MeshConfig
  /// Objects that could not be read at all (a broken registration or config entry), with why.
  public var rejectedObjects: [String]
  /// Consul's `X-Consul-Default-Acl-Policy` (`allow` or `deny`); nil for a catalog file.
  public var aclDefaultPolicy: String?

  public init(
    datacenter: String, trustDomain: String? = nil, instances: [String: ServiceInstance] = [:],
    lambdas: [String: LambdaRegistration] = [:], gatewayLinks: [String: [String]] = [:],
    intentions: [String: ServiceIntentions] = [:], serviceDefaults: [String: ServiceDefaults] = [:],
    proxyDefaults: ProxyDefaults = ProxyDefaults(), mesh: MeshConfig = MeshConfig(), rejectedObjects: [String] = []
  ) {
    self.datacenter = datacenter
    self.trustDomain = trustDomain
    self.instances = instances
    self.lambdas = lambdas
    self.gatewayLinks = gatewayLinks
    self.intentions = intentions
    self.serviceDefaults = serviceDefaults
    self.proxyDefaults = proxyDefaults
    self.mesh = mesh
    self.rejectedObjects = rejectedObjects
  }

  /// Builds the snapshot from registrations and config entries, the way Consul itself would see
  /// them. A malformed object is skipped and recorded in `rejectedObjects`; the rest is kept.
  public init(
    datacenter: String, registrations: [JSONValue], configEntries: [JSONValue], trustDomain: String? = nil
  ) {
    self.init(datacenter: datacenter, trustDomain: trustDomain)
    for (index, body) in registrations.enumerated() {
      do {
        let instance = try ServiceInstance(registration: body)
        instances[instance.id] = instance
      } catch {
        rejectedObjects.append("registration #\(index + 1): \(error)")
      }
    }
    for (index, body) in configEntries.enumerated() {
      do {
        switch try ConfigEntry(body) {
        case .serviceDefaults(let entry): serviceDefaults[entry.name] = entry
        case .terminatingGateway(let name, let services): gatewayLinks[name] = services
        case .proxyDefaults(let entry): proxyDefaults = entry
        case .serviceIntentions(let entry): intentions[entry.destination] = entry
        case .mesh(let entry): mesh = entry
        case .other: break
        }
      } catch {
        rejectedObjects.append("config entry #\(index + 1): \(error)")
      }
    }
    for entry in serviceDefaults.values {
      if let lambda = LambdaRegistration.parse(entry, inheritedProtocol: proxyDefaults.protocol) {
        lambdas[entry.name] = lambda
      }
    }
  }

  /// Sidecars and terminating gateways: the proxies lambda-xds configures, by service ID (which
  /// is also the Envoy node id).
  public var proxies: [String: ServiceInstance] {
    instances.filter { $0.value.kind == .connectProxy || $0.value.kind == .terminatingGateway }
  }

  /// Healthy instances of a service (for gateways: where sidecars send gated Lambda traffic).
  public func healthyInstances(of service: String) -> [ServiceInstance] {
    healthyInstancesByService[service] ?? []
  }

  /// The terminating gateways that link a service (directly or by `*`).
  /// - Parameter index: ``gatewaysByService``, when asking for many services.
  public func gateways(linking service: String, in index: [String: [String]]? = nil) -> [String] {
    let index = index ?? gatewaysByService
    return Set((index[service] ?? []) + (index["*"] ?? [])).sorted()
  }

  /// The services a terminating gateway fronts; its `*` link means every Lambda service.
  public func services(linkedTo gateway: String) -> Set<String> {
    var linked = Set(gatewayLinks[gateway] ?? [])
    if linked.remove("*") != nil { linked.formUnion(lambdas.keys) }
    return linked
  }

  /// For every service, the gateways linking it, computed in one pass (a wildcard link is under
  /// `"*"`): per-service lookups without scanning every gateway's list.
  public var gatewaysByService: [String: [String]] {
    var result: [String: [String]] = [:]
    for (gateway, services) in gatewayLinks.sorted(by: { $0.key < $1.key }) {
      for service in Set(services) { result[service, default: []].append(gateway) }
    }
    return result
  }

  /// Each service's mesh endpoints, as Consul's `/v1/health/connect/<service>` lists them: the
  /// sidecar proxies whose destination it is and its Connect-native instances, in id order.
  /// Health is not filtered: Consul sends every endpoint with its health.
  public var connectEndpointsByService: [String: [ServiceInstance]] {
    var result: [String: [ServiceInstance]] = [:]
    for instance in instances.values {
      if instance.kind == .connectProxy, let destination = instance.proxy?.destinationServiceName {
        result[destination, default: []].append(instance)
      } else if instance.kind == .typical && instance.connectNative {
        result[instance.name, default: []].append(instance)
      }
    }
    return result.mapValues { $0.sorted { $0.id < $1.id } }
  }

  /// Every instance grouped by service name, in one pass.
  public var instancesByService: [String: [ServiceInstance]] {
    var result: [String: [ServiceInstance]] = [:]
    for instance in instances.values { result[instance.name, default: []].append(instance) }
    return result.mapValues { $0.sorted { $0.id < $1.id } }
  }

  /// Healthy instances grouped by service name, in one pass.
  public var healthyInstancesByService: [String: [ServiceInstance]] {
    var result: [String: [ServiceInstance]] = [:]
    for instance in instances.values where instance.healthy { result[instance.name, default: []].append(instance) }
    return result.mapValues { $0.sorted { $0.id < $1.id } }
  }
}

extension CatalogSnapshot {
  /// Services whose identity a proxy presents: each sidecar's own service and every service a
  /// terminating gateway fronts.
  public var servicesNeedingLeaves: Set<String> {
    proxies.values.reduce(into: Set<String>()) { $0.formUnion(servicesNeedingLeaves(of: $1)) }
  }

  /// The services whose identity one proxy presents.
  public func servicesNeedingLeaves(of proxy: ServiceInstance) -> Set<String> {
    if let destination = proxy.proxy?.destinationServiceName { return [destination] }
    return proxy.kind == .terminatingGateway ? services(linkedTo: proxy.name) : []
  }
}
