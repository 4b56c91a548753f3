public import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf
import ResourceCache
import Synchronization

/// Catalog snapshot in, Envoy resources per proxy out. Pure: no I/O, no clocks, no async.
///
/// Resources that several proxies share (a Lambda cluster, a service's mesh cluster, a gateway's
/// route, a secret) are built and encoded once per translation and the same bytes go into every
/// snapshot that needs them.
public struct Translator: Sendable {
  public var options: TranslationOptions

  public init(options: TranslationOptions = TranslationOptions()) {
    self.options = options
  }

  /// - Parameters:
  ///   - change: what differs from the catalog `state` last saw; nil translates everything.
  ///   - state: the previous translation, kept and updated: with a change, only the proxies it
  ///     touches are translated again (and only resources not already encoded are encoded);
  ///     every other proxy keeps its result. The output is the same either way.
  public func translate(
    _ catalog: CatalogSnapshot, certificates: MeshCertificates = .none, change: CatalogChange? = nil,
    state: TranslationState? = nil
  ) -> CatalogTranslation {
    let environment = TranslationEnvironment(options: options, datacenter: catalog.datacenter, trustDomain: catalog.trustDomain)
    guard let state else {
      var value = TranslationState.Value(environment: environment, certificates: certificates, plan: LambdaRoutingPlan(catalog))
      return Self.full(catalog, certificates, &value)
    }
    return state.value.withLock { kept in
      // Taken out, so that editing its dictionaries does not copy them.
      let previous = kept.take()
      guard var value = previous, value.environment == environment, let change, !change.everything,
        value.certificates.rootsPEM == certificates.rootsPEM
      else {
        var value = TranslationState.Value(
          environment: environment, certificates: certificates, plan: LambdaRoutingPlan(catalog, after: previous?.plan))
        let result = Self.full(catalog, certificates, &value)
        kept = value
        return result
      }
      let result = Self.incremental(catalog, certificates, change, &value)
      kept = value
      return result
    }
  }

  private static func full(
    _ catalog: CatalogSnapshot, _ certificates: MeshCertificates, _ value: inout TranslationState.Value
  ) -> CatalogTranslation {
    let context = TranslationContext(
      catalog: catalog, certificates: certificates, environment: value.environment, plan: value.plan, previous: [:])
    for (id, proxy) in catalog.proxies {
      value.record(id, context.translate(proxy), built: context.used)
    }
    return CatalogTranslation(plan: value.plan, proxies: value.proxies, changed: nil)
  }

  private static func incremental(
    _ catalog: CatalogSnapshot, _ certificates: MeshCertificates, _ change: CatalogChange,
    _ value: inout TranslationState.Value
  ) -> CatalogTranslation {
    var services = change.services
    // A gateway's instances or links decide the routes of the services it links.
    for service in change.services where catalog.gatewayLinks[service] != nil {
      services.formUnion(catalog.services(linkedTo: service))
    }
    // New certificates for a service reach the proxies that present it.
    // (Unchanged leaves are the same dictionary, which `!=` sees at once.)
    let old = value.certificates.leaves
    if old != certificates.leaves {
      for (service, leaf) in certificates.leaves where old[service] != leaf { services.insert(service) }
      for service in old.keys where certificates.leaves[service] == nil { services.insert(service) }
    }
    value.certificates = certificates
    services.formUnion(value.plan.update(services.filter { catalog.lambdas[$0] != nil || value.plan.routes[$0] != nil }, in: catalog))
    var affected = change.proxies
    for service in services { affected.formUnion(value.readers[service] ?? []) }
    if !services.isEmpty || !change.proxies.isEmpty { affected.formUnion(value.everyServiceReaders) }
    // Translated first and recorded after, once the context (which reads `value.resources`) is
    // gone: recording while it is alive would copy every kept resource.
    var results: [(String, TranslatedProxy?)] = []
    var built: [SpecKey: KeptResource] = [:]
    do {
      let context = TranslationContext(
        catalog: catalog, certificates: certificates, environment: value.environment, plan: value.plan,
        previous: value.resources, previousProxies: value.proxies, changed: (services, change.proxies),
        previousParts: value.upstreamParts)
      for node in affected { results.append((node, catalog.proxies[node].map { context.translate($0) })) }
      built = context.used
    }
    for (node, result) in results { value.record(node, result, built: built) }
    return CatalogTranslation(plan: value.plan, proxies: value.proxies, changed: affected)
  }
}

/// One translation pass: the inputs, the indexes every proxy uses (computed once), and the
/// resources built so far.
final class TranslationContext {
  let catalog: CatalogSnapshot
  let certificates: MeshCertificates
  let plan: LambdaRoutingPlan
  let environment: TranslationEnvironment
  /// Each service's mesh endpoints (sidecars and native instances).
  let connectEndpoints: [String: [ServiceInstance]]
  let instancesByService: [String: [ServiceInstance]]
  /// This datacenter's mesh gateways, found when a proxy first needs them.
  private(set) lazy var localMeshGateways: [ServiceInstance] = catalog.localMeshGateways
  /// Built in an earlier translation (same environment).
  private let previous: [SpecKey: KeptResource]
  /// The earlier translation's proxies, whose snapshots' type versions a new one may keep.
  private let previousProxies: [String: ProxyTranslation]
  /// Built or reused in this one.
  private(set) var used: [SpecKey: KeptResource] = [:]

  /// An incremental translation's reuse of explicit upstreams (see ``UpstreamPart``): the
  /// services and proxies the change touched, and each proxy's parts from before.
  let changed: (services: Set<String>, proxies: Set<String>)?
  let previousParts: [String: [UpstreamPart?]]

  /// What the proxy being translated read and used, and its explicit upstreams' parts.
  var reads = ProxyReads()
  var specs: [SpecKey] = []
  var parts: [UpstreamPart?] = []

  init(
    catalog: CatalogSnapshot, certificates: MeshCertificates, environment: TranslationEnvironment,
    plan: LambdaRoutingPlan, previous: [SpecKey: KeptResource], previousProxies: [String: ProxyTranslation] = [:],
    changed: (services: Set<String>, proxies: Set<String>)? = nil, previousParts: [String: [UpstreamPart?]] = [:]
  ) {
    self.changed = changed
    self.previousParts = previousParts
    self.catalog = catalog
    self.certificates = certificates
    self.plan = plan
    self.environment = environment
    self.connectEndpoints = catalog.connectEndpointsByService
    self.instancesByService = catalog.instancesByService
    self.previous = previous
    self.previousProxies = previousProxies
  }

  /// Notes that the proxy being translated depends on a service (its instances, endpoints,
  /// defaults, intentions, Lambda route, links, certificate).
  func read(_ service: String) { reads.services.insert(service) }

  /// Notes that the proxy depends on the set of every service (a transparent proxy).
  func readEveryService() { reads.everyService = true }

  var datacenter: String { catalog.datacenter }
  var options: TranslationOptions { environment.options }
  var intentionPolicy: TranslationOptions.IntentionPolicy { options.intentionPolicy(for: catalog) }

  func translate(_ proxy: ServiceInstance) -> TranslatedProxy {
    reads = ProxyReads()
    specs = []
    parts = []
    var builder = ProxyBuilder()
    switch proxy.kind {
    case .connectProxy: sidecar(proxy, &builder)
    case .terminatingGateway: gateway(proxy, &builder)
    case .meshGateway: meshGateway(proxy, &builder)
    default: break
    }
    var findings = Array(Set(builder.findings)).sorted()
    var snapshot: Snapshot?
    do {
      snapshot = try Snapshot(builder.resources, reusing: previousProxies[proxy.id]?.snapshot)
    } catch {
      findings.append(.error(proxy.id, "internal error, keeping the previous configuration: \(error)"))
    }
    let translation = ProxyTranslation(
      nodeID: proxy.id, kind: proxy.kind, snapshot: snapshot, findings: findings, signedFunctions: builder.signs.sorted())
    return TranslatedProxy(translation: translation, reads: reads, specs: specs, parts: parts)
  }

  /// The encoded resource for a spec: from this translation, else the memo, else built now.
  func shared(_ spec: some ResourceSpec) throws -> EncodedResource {
    let key = SpecKey(spec)
    if let kept = used[key] {
      specs.append(kept.key)
      return kept.resource
    }
    let kept = try previous[key] ?? KeptResource(key: key, resource: spec.resource(in: environment))
    used[kept.key] = kept
    specs.append(kept.key)
    return kept.resource
  }

  /// Adds the roots and the service's leaf; false when either is missing.
  func addMeshSecrets(for service: String, _ builder: inout ProxyBuilder) throws -> Bool {
    read(service)
    guard !certificates.rootsPEM.isEmpty, let leaf = certificates.leaves[service] else { return false }
    builder.add(try shared(MeshSecrets.Roots(pem: certificates.rootsPEM)))
    builder.add(try shared(MeshSecrets.Leaf(service: service, leaf: leaf)))
    return true
  }
}

/// Collects one proxy's resources (one per type and name) and findings.
struct ProxyBuilder {
  private(set) var resources: [ResourceKey: EncodedResource] = [:]
  var findings: [Finding] = []
  /// The Lambda ARNs (qualifier included) this proxy signs Invoke requests for.
  private(set) var signs: Set<String> = []
  /// While a part runs (``capture(_:_:)``): what it added, so a failed part can be taken out
  /// again. Parts add straight into the proxy's tables instead of into their own.
  private var addedKeys: [ResourceKey] = []
  private var addedSigns: [String] = []
  private var capturing = 0
  private var repeatedAdds = 0

  init() { resources.reserveCapacity(16) }

  /// Two different resources under one name would be a NACK; the first is kept, with a finding.
  mutating func add(_ resource: EncodedResource) {
    let key = ResourceKey(resource.type, resource.name)
    if let existing = resources[key] {
      repeatedAdds += 1
      if existing.version != resource.version {
        fail(resource.name, "two different \(resource.type) resources are named \(resource.name); the first is kept")
      }
      return
    }
    resources[key] = resource
    if capturing > 0 { addedKeys.append(key) }
  }

  /// Leaves a part; the journals are kept only while a part runs.
  private mutating func endPart() {
    capturing -= 1
    if capturing == 0 {
      addedKeys.removeAll(keepingCapacity: true)
      addedSigns.removeAll(keepingCapacity: true)
    }
  }

  /// Notes that the proxy signs for a function.
  mutating func sign(_ arn: String) {
    if signs.insert(arn).inserted, capturing > 0 { addedSigns.append(arn) }
  }

  mutating func warn(_ service: String, _ message: String) { findings.append(.warning(service, message)) }
  mutating func fail(_ service: String, _ message: String) { findings.append(.error(service, message)) }

  /// Runs `body` and returns what it added that stayed, and whether it added a resource the
  /// proxy already had (then what it added depends on more than itself).
  mutating func recording<T>(_ body: (inout ProxyBuilder) -> T) -> (T, Added) {
    let (keys, arns, found, repeats) = (addedKeys.count, addedSigns.count, findings.count, repeatedAdds)
    capturing += 1
    defer { endPart() }
    let result = body(&self)
    let added = Added(
      resources: addedKeys[keys...].compactMap { resources[$0] }, signs: Array(addedSigns[arns...]),
      findings: Array(findings[found...]), repeated: repeatedAdds != repeats)
    return (result, added)
  }

  /// What a recorded part added.
  struct Added {
    var resources: [EncodedResource]
    var signs: [String]
    var findings: [Finding]
    var repeated: Bool
  }

  /// Adds what a part added before, again.
  mutating func replay(_ added: Added) {
    for resource in added.resources { add(resource) }
    for arn in added.signs { sign(arn) }
    findings += added.findings
  }

  /// Runs one part of the proxy; an encoding failure leaves that part out (its findings stay),
  /// not the proxy.
  mutating func capture<T>(_ service: String, _ body: (inout ProxyBuilder) throws -> T?) -> T? {
    let (keys, arns) = (addedKeys.count, addedSigns.count)
    capturing += 1
    defer { endPart() }
    do {
      return try body(&self)
    } catch {
      for key in addedKeys[keys...] { resources[key] = nil }
      for arn in addedSigns[arns...] { signs.remove(arn) }
      addedKeys.removeSubrange(keys...)
      addedSigns.removeSubrange(arns...)
      fail(service, "left out: \(error)")
      return nil
    }
  }
}
