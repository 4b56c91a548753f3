public import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf
import ResourceCache

/// Catalog snapshot in, Envoy resources per proxy out. Pure: no I/O, no clocks, no async.
///
/// Resources that several proxies share (a Lambda cluster, a gateway's route, a secret, an
/// outbound listener on the same bind address) are built and encoded once per translation and
/// the same bytes go into every snapshot that needs them.
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
    let plan = LambdaRoutingPlan(catalog)
    let memoContext = TranslationMemo.Context(options: options, datacenter: catalog.datacenter, trustDomain: catalog.trustDomain)
    let context = Context(
      catalog: catalog, certificates: certificates, plan: plan, options: options,
      previous: memo?.entries(for: memoContext) ?? [:])
    var proxies: [String: ProxyTranslation] = [:]
    for (id, proxy) in catalog.proxies {
      proxies[id] = context.translate(proxy)
    }
    memo?.keep(context.used)
    return CatalogTranslation(plan: plan, proxies: proxies)
  }
}

/// One translation pass: the inputs and the memo of resources built so far.
private final class Context {
  let catalog: CatalogSnapshot
  let certificates: MeshCertificates
  let plan: LambdaRoutingPlan
  let options: TranslationOptions
  /// Built in an earlier translation (same options, datacenter and trust domain).
  private let previous: [SharedKey: EncodedResource]
  /// Built or reused in this one.
  private(set) var used: [SharedKey: EncodedResource] = [:]

  init(
    catalog: CatalogSnapshot, certificates: MeshCertificates, plan: LambdaRoutingPlan, options: TranslationOptions,
    previous: [SharedKey: EncodedResource]
  ) {
    self.catalog = catalog
    self.certificates = certificates
    self.plan = plan
    self.options = options
    self.previous = previous
  }

  var datacenter: String { catalog.datacenter }

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

  // MARK: Sidecars

  private func sidecar(_ proxy: ServiceInstance, _ builder: inout ProxyBuilder) {
    guard let config = proxy.proxy else { return }
    var boundSockets: [String: String] = [:]
    for upstream in config.upstreams {
      let service = upstream.destinationName
      guard upstream.destinationType == "service" else {
        builder.warn(service, "upstream of type \(upstream.destinationType) is not supported; no listener")
        continue
      }
      guard upstream.datacenter.isEmpty || upstream.datacenter == datacenter else {
        builder.warn(service, "upstream in datacenter \(upstream.datacenter) is not supported (only \(datacenter)); no listener")
        continue
      }
      guard let route = plan.routes[service] else {
        builder.warn(service, "not a Lambda service: lambda-xds configures only Lambda upstreams; no listener")
        continue
      }
      let socket = "\(upstream.localBindAddress):\(upstream.localBindPort)"
      if let other = boundSockets[socket] {
        builder.fail(service, "upstream binds \(socket), already used by upstream \(other); no listener")
        continue
      }
      boundSockets[socket] = service
      builder.capture(service) { part in
        switch route {
        case .excluded(let reason):
          part.fail(service, "upstream not configured: \(reason)")
        case .direct(let function):
          try direct(upstream, function, &part)
        case .gated(_, _, let endpoints):
          try gated(upstream, caller: config.destinationServiceName, endpoints: endpoints, &part)
        }
      }
    }
  }

  private func direct(_ upstream: Upstream, _ function: LambdaFunction, _ builder: inout ProxyBuilder) throws {
    let service = upstream.destinationName
    let cluster = try lambdaCluster(service, function)
    builder.add(cluster)
    builder.add(
      try shared(.directListener(upstream, function: function)) {
        try EncodedResource(
          SidecarListener.direct(upstream, function: function, cluster: cluster.name, datacenter: datacenter, options: options))
      })
  }

  private func gated(_ upstream: Upstream, caller: String, endpoints: [ServiceInstance], _ builder: inout ProxyBuilder)
    throws
  {
    let service = upstream.destinationName
    guard let trustDomain = catalog.trustDomain else { return }  // the plan excludes this case
    guard try addMeshSecrets(for: caller, &builder) else {
      builder.fail(service, "no mesh certificate for \(caller) yet; the upstream through the gateway needs one")
      return
    }
    let sni = MeshNames.sni(service, datacenter: datacenter, trustDomain: trustDomain)
    builder.add(
      try shared(.meshCluster(service: service, caller: caller)) {
        try EncodedResource(
          MeshUpstreamCluster.cluster(
            sni: sni, callerService: caller,
            expectedSPIFFE: MeshNames.spiffeID(service, datacenter: datacenter, trustDomain: trustDomain),
            options: options))
      })
    builder.add(
      try shared(.meshEndpoints(service: service, gateways: endpoints)) {
        try EncodedResource(MeshUpstreamCluster.endpoints(sni: sni, gateways: endpoints))
      })
    builder.add(
      try shared(.gatedListener(upstream)) {
        try EncodedResource(SidecarListener.gated(upstream, cluster: sni, datacenter: datacenter))
      })
  }

  // MARK: Terminating gateways

  private func gateway(_ proxy: ServiceInstance, _ builder: inout ProxyBuilder) {
    guard !proxy.address.isEmpty, proxy.port > 0 else {
      builder.fail(proxy.name, "terminating gateway \(proxy.id) has no address and port; no listener")
      return
    }
    var chains: [GatewayListener.Chain] = []
    for service in catalog.services(linkedTo: proxy.name).sorted() {
      guard let registration = catalog.lambdas[service] else {
        builder.warn(service, "linked to this gateway but not a Lambda service: lambda-xds configures only Lambda services; no filter chain")
        continue
      }
      guard case .success(let function) = registration.function else {
        builder.fail(service, "no filter chain: \(registration.invalidReason ?? "invalid")")
        continue
      }
      guard let trustDomain = catalog.trustDomain else {
        builder.fail(service, "no filter chain: the mesh trust domain (Connect CA roots) is not known yet")
        continue
      }
      builder.capture(service) { part in
        guard try addMeshSecrets(for: service, &part) else {
          part.fail(service, "no filter chain: no mesh certificate for \(service) yet")
          return
        }
        let sni = MeshNames.sni(service, datacenter: datacenter, trustDomain: trustDomain)
        part.add(try lambdaCluster(service, function))
        let (rules, findings) = IntentionsRBAC.rules(
          intentions: catalog.intentions[service], service: service, trustDomain: trustDomain,
          defaultPolicy: options.intentionPolicy(for: catalog))
        part.findings += findings
        let chain = GatewayListener.Chain(service: service, sni: sni, function: function, rbac: rules)
        part.add(try shared(.gatewayRoutes(chain)) { try EncodedResource(GatewayListener.routes(chain, options: options)) })
        chains.append(chain)
      }
    }
    guard !chains.isEmpty else {
      builder.warn(proxy.name, "no Lambda service is ready on this gateway; no listener")
      return
    }
    builder.capture(proxy.name) { part in
      part.add(
        try shared(.gatewayListener(address: proxy.address, port: proxy.port, chains: chains)) {
          try EncodedResource(
            GatewayListener.listener(
              address: proxy.address, port: proxy.port, chains: chains, datacenter: datacenter, options: options))
        })
    }
  }

  // MARK: Shared pieces

  private func lambdaCluster(_ service: String, _ function: LambdaFunction) throws -> EncodedResource {
    try shared(.lambdaCluster(service: service, function: function)) {
      try EncodedResource(
        LambdaCluster.make(
          name: MeshNames.lambdaCluster(service, datacenter: datacenter, trustDomain: catalog.trustDomain),
          function: function, options: options))
    }
  }

  /// Adds the roots and the service's leaf; false when either is missing.
  private func addMeshSecrets(for service: String, _ builder: inout ProxyBuilder) throws -> Bool {
    guard !certificates.rootsPEM.isEmpty, let leaf = certificates.leaves[service] else { return false }
    builder.add(try shared(.roots(pem: certificates.rootsPEM)) { try EncodedResource(MeshSecrets.roots(certificates.rootsPEM)) })
    builder.add(try shared(.leaf(service: service, leaf)) { try EncodedResource(MeshSecrets.leaf(service, leaf)) })
    return true
  }

  private func shared(_ key: SharedKey, _ make: () throws -> EncodedResource) throws -> EncodedResource {
    if let resource = used[key] ?? previous[key] {
      used[key] = resource
      return resource
    }
    let resource = try make()
    used[key] = resource
    return resource
  }
}

/// Collects one proxy's resources (deduplicated by type and name) and findings.
private struct ProxyBuilder {
  var resources: [ResourceKey: EncodedResource] = [:]
  var findings: [Finding] = []

  mutating func add(_ resource: EncodedResource) {
    resources[ResourceKey(resource.type, resource.name)] = resource
  }

  mutating func warn(_ service: String, _ message: String) { findings.append(.warning(service, message)) }
  mutating func fail(_ service: String, _ message: String) { findings.append(.error(service, message)) }

  /// Runs one service's part; an encoding failure leaves that service out, not the proxy.
  mutating func capture(_ service: String, _ body: (inout ProxyBuilder) throws -> Void) {
    var part = ProxyBuilder()
    do {
      try body(&part)
      resources.merge(part.resources) { $1 }
      findings += part.findings
    } catch {
      fail(service, "left out: \(error)")
    }
  }
}
