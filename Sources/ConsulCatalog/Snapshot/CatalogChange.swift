/// What differs between two catalog snapshots, at the grain translation depends on: which
/// services and which proxies, or everything. A change then costs what it touches.
public struct CatalogChange: Sendable, Equatable {
  /// Services (by name) whose instances, mesh endpoints, service-defaults, intentions, splitter, Lambda
  /// declaration or gateway links changed; a terminating gateway's own name when its instances
  /// or links changed.
  public var services: Set<String>
  /// Proxies (by id) whose own registration changed, appeared or went away.
  public var proxies: Set<String>
  /// Something every proxy may depend on changed (datacenter, trust domain, proxy-defaults, the
  /// mesh entry, intentions for `*`, a `*` gateway link, the ACL default).
  public var everything: Bool

  public init(services: Set<String> = [], proxies: Set<String> = [], everything: Bool = false) {
    self.services = services
    self.proxies = proxies
    self.everything = everything
  }

  public static let all = CatalogChange(everything: true)

  public var isEmpty: Bool { !everything && services.isEmpty && proxies.isEmpty }

  public mutating func formUnion(_ other: CatalogChange) {
    services.formUnion(other.services)
    proxies.formUnion(other.proxies)
    everything = everything || other.everything
  }

  /// The difference found by comparing the two snapshots (linear in their size: a source that
  /// knows what it changed, like the Consul watcher, records it as it goes instead).
  public init(from old: CatalogSnapshot?, to new: CatalogSnapshot) {
    self.init()
    guard let old else {
      everything = true
      return
    }
    if old.datacenter != new.datacenter || old.datacenters != new.datacenters || old.trustDomain != new.trustDomain || old.proxyDefaults != new.proxyDefaults
      || old.mesh != new.mesh || old.aclDefaultPolicy != new.aclDefaultPolicy
      || old.intentions["*"] != new.intentions["*"] || Self.wildcardLinkChanged(old.gatewayLinks, new.gatewayLinks)
    {
      everything = true
      return
    }
    if old.instancesByService != new.instancesByService {
      for service in Set(old.instancesByService.keys).union(new.instancesByService.keys) {
        let before = old.instancesByService[service] ?? []
        let after = new.instancesByService[service] ?? []
        guard before != after else { continue }
        noteInstances(of: service, before: before, after: after)
      }
    }
    services.formUnion(Self.changedKeys(old.serviceDefaults, new.serviceDefaults))
    services.formUnion(Self.changedKeys(old.lambdas, new.lambdas))
    services.formUnion(Self.changedKeys(old.intentions, new.intentions))
    services.formUnion(Self.changedKeys(old.splitters, new.splitters))
    if old.remote != new.remote {
      for datacenter in Set(old.remote.keys).union(new.remote.keys) {
        let before = old.remote[datacenter], after = new.remote[datacenter]
        guard before != after else { continue }
        if before?.meshGateways != after?.meshGateways { services.insert(Self.meshGatewaysKey(datacenter: datacenter)) }
        for service in Self.changedKeys(before?.connectEndpoints ?? [:], after?.connectEndpoints ?? [:]) {
          services.insert(Self.remoteKey(service, datacenter: datacenter))
        }
      }
    }
    for gateway in Self.changedKeys(old.gatewayLinks, new.gatewayLinks).union(Self.changedKeys(old.gatewayTLS, new.gatewayTLS)) {
      services.insert(gateway)
      services.formUnion(old.gatewayLinks[gateway] ?? [])
      services.formUnion(new.gatewayLinks[gateway] ?? [])
    }
  }

  /// The difference between a snapshot and the one it was edited from, where the edit changed
  /// only the instances of some services, given those services' instance lists before it:
  /// what ``init(from:to:)`` finds, at the cost of those services.
  public init(instancesBefore before: [String: [ServiceInstance]], in new: CatalogSnapshot) {
    self.init()
    for (service, old) in before {
      let now = new.instancesByService[service] ?? []
      if old != now { noteInstances(of: service, before: old, after: now) }
    }
  }

  /// Records that a service's instances went from `before` to `after`: the service, the
  /// services those instances are mesh endpoints of, and the proxies among them that changed.
  public mutating func noteInstances(of service: String, before: [ServiceInstance], after: [ServiceInstance]) {
    services.insert(service)
    for instance in before + after {
      if let endpointOf = CatalogSnapshot.endpointService(instance) { services.insert(endpointOf) }
    }
    let old = Dictionary(before.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    let new = Dictionary(after.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    for id in Set(old.keys).union(new.keys) where old[id] != new[id] {
      let instance = new[id] ?? old[id]!
      if instance.kind.isConfigured { proxies.insert(id) }
      if instance.kind == .meshGateway { services.insert(Self.meshGatewaysKey(datacenter: nil)) }
    }
  }

  /// The key a change to a service's endpoints in another datacenter is recorded under (not a
  /// service name: Consul's names cannot hold `?`).
  public static func remoteKey(_ service: String, datacenter: String) -> String { "\(service)?dc=\(datacenter)" }

  /// The key a change to a datacenter's mesh gateways (nil: this one's) is recorded under.
  public static func meshGatewaysKey(datacenter: String?) -> String { "mesh-gateways?dc=\(datacenter ?? "")" }

  /// A change of links while some gateway links `*` (every Lambda service) reaches everything.
  private static func wildcardLinkChanged(_ old: [String: [String]], _ new: [String: [String]]) -> Bool {
    guard old != new else { return false }
    return old.values.contains { $0.contains("*") } || new.values.contains { $0.contains("*") }
  }

  private static func changedKeys<Value: Equatable>(_ old: [String: Value], _ new: [String: Value]) -> Set<String> {
    guard old != new else { return [] }
    return Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }
  }
}
