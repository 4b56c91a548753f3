public import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf
import ResourceCache

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

  /// - Parameter memo: resources kept from the previous translation; with it, only what the
  ///   catalog change touched is encoded again. The result is the same either way.
  public func translate(
    _ catalog: CatalogSnapshot, certificates: MeshCertificates = .none, memo: TranslationMemo? = nil
  ) -> CatalogTranslation {
    let environment = TranslationEnvironment(options: options, datacenter: catalog.datacenter, trustDomain: catalog.trustDomain)
    let context = TranslationContext(
      catalog: catalog, certificates: certificates, environment: environment,
      previous: memo?.entries(for: environment) ?? [:])
    var proxies: [String: ProxyTranslation] = [:]
    for (id, proxy) in catalog.proxies {
      proxies[id] = context.translate(proxy)
    }
    memo?.keep(context.used)
    return CatalogTranslation(plan: context.plan, proxies: proxies)
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
  /// Built in an earlier translation (same environment).
  private let previous: [SpecKey: EncodedResource]
  /// Built or reused in this one.
  private(set) var used: [SpecKey: EncodedResource] = [:]

  init(
    catalog: CatalogSnapshot, certificates: MeshCertificates, environment: TranslationEnvironment,
    previous: [SpecKey: EncodedResource]
  ) {
    self.catalog = catalog
    self.certificates = certificates
    self.plan = LambdaRoutingPlan(catalog)
    self.environment = environment
    self.connectEndpoints = catalog.connectEndpointsByService
    self.instancesByService = catalog.instancesByService
    self.previous = previous
  }

  var datacenter: String { catalog.datacenter }
  var options: TranslationOptions { environment.options }
  var intentionPolicy: TranslationOptions.IntentionPolicy { options.intentionPolicy(for: catalog) }

  func translate(_ proxy: ServiceInstance) -> ProxyTranslation {
    var builder = ProxyBuilder()
    switch proxy.kind {
    case .connectProxy: sidecar(proxy, &builder)
    case .terminatingGateway: gateway(proxy, &builder)
    default: break
    }
    var findings = Array(Set(builder.findings)).sorted()
    var snapshot: Snapshot?
    do {
      snapshot = try Snapshot(Array(builder.resources.values))
    } catch {
      findings.append(.error(proxy.id, "internal error, keeping the previous configuration: \(error)"))
    }
    return ProxyTranslation(nodeID: proxy.id, kind: proxy.kind, snapshot: snapshot, findings: findings)
  }

  /// The encoded resource for a spec: from this translation, else the memo, else built now.
  func shared(_ spec: some ResourceSpec) throws -> EncodedResource {
    let key = SpecKey(spec)
    if let resource = used[key] ?? previous[key] {
      used[key] = resource
      return resource
    }
    let resource = try spec.resource(in: environment)
    used[key] = resource
    return resource
  }

  /// Adds the roots and the service's leaf; false when either is missing.
  func addMeshSecrets(for service: String, _ builder: inout ProxyBuilder) throws -> Bool {
    guard !certificates.rootsPEM.isEmpty, let leaf = certificates.leaves[service] else { return false }
    builder.add(try shared(MeshSecrets.Roots(pem: certificates.rootsPEM)))
    builder.add(try shared(MeshSecrets.Leaf(service: service, leaf: leaf)))
    return true
  }
}

/// Collects one proxy's resources (one per type and name) and findings.
struct ProxyBuilder {
  var resources: [ResourceKey: EncodedResource] = [:]
  var findings: [Finding] = []

  /// Two different resources under one name would be a NACK; the first is kept, with a finding.
  mutating func add(_ resource: EncodedResource) {
    let key = ResourceKey(resource.type, resource.name)
    if let existing = resources[key] {
      if existing.version != resource.version {
        fail(resource.name, "two different \(resource.type) resources are named \(resource.name); the first is kept")
      }
      return
    }
    resources[key] = resource
  }

  mutating func warn(_ service: String, _ message: String) { findings.append(.warning(service, message)) }
  mutating func fail(_ service: String, _ message: String) { findings.append(.error(service, message)) }

  /// Runs one part of the proxy; an encoding failure leaves that part out, not the proxy.
  mutating func capture<T>(_ service: String, _ body: (inout ProxyBuilder) throws -> T?) -> T? {
    var part = ProxyBuilder()
    do {
      let result = try body(&part)
      for resource in part.resources.values { add(resource) }
      findings += part.findings
      return result
    } catch {
      findings += part.findings
      fail(service, "left out: \(error)")
      return nil
    }
  }
}
