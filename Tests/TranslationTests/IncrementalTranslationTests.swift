import ConsulCatalog
import Foundation
import ResourceCache
import TestSupport
import Testing
import Translation

/// Translating only what a change touches gives exactly what a full translation gives: random
/// sequences of changes over every golden catalog and a generated larger one, compared after each
/// step (every proxy's snapshot, its findings, the routing plan).
@Suite("Incremental translation equals full translation")
struct IncrementalTranslationTests {
  static let catalogs = ["direct", "gated", "opposite", "invalid", "overrides", "intentions", "unhealthy-gateway",
    "mesh-inbound", "mesh-upstreams", "mesh-tproxy", "mesh-expose", "mesh-bad-input"]

  @Test("random changes over a golden catalog", arguments: catalogs)
  func golden(name: String) throws {
    let catalog = try CatalogFile.snapshot(contentsOf: GoldenCase.fixture(name).catalog.path)
    try walk(catalog, certificates: GoldenCase.certificates, steps: 60, seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
  }

  @Test("random changes over a generated catalog of 150 Lambda services and 50 sidecars")
  func generated() throws {
    var catalog = CatalogSnapshot(datacenter: "dc1", trustDomain: "11111111-2222-3333-4444-555555555555.consul")
    var leaves: [String: MeshCertificates.Leaf] = [:]
    let leaf = MeshCertificates.Leaf(certificatePEM: "cert", privateKeyPEM: "key")
    for index in 0..<150 {
      let name = "fn-\(index)"
      catalog.serviceDefaults[name] = ServiceDefaults(name: name, protocol: "http")
      catalog.lambdas[name] = LambdaRegistration(
        service: name, source: .envoyExtension,
        function: .success(LambdaFunction(arn: try LambdaARN("arn:aws:lambda:us-east-1:123456789012:function:\(name)"))))
      leaves[name] = leaf
    }
    catalog.gatewayLinks = ["terminating-gateway": stride(from: 0, to: 150, by: 3).map { "fn-\($0)" }]
    catalog.upsert(ServiceInstance(id: "terminating-gateway", name: "terminating-gateway", kind: .terminatingGateway, address: "10.0.0.1", port: 8443))
    for index in 0..<50 {
      let caller = "app-\(index)"
      leaves[caller] = leaf
      catalog.upsert(ServiceInstance(id: caller, name: caller, address: "10.1.\(index / 200).\(index % 200)", port: 8080))
      // Some sidecars reach one service through two upstreams (the second shares the first's
      // filter, so it depends on what the first read).
      let upstreams = (0..<6).map { offset in
        let function = offset == 4 && index % 4 == 0 ? index * 5 % 150 : (index * 5 + offset) % 150
        return Upstream(destinationName: offset == 5 ? "app-\((index + 1) % 50)" : "fn-\(function)", localBindPort: 10_000 + offset)
      }
      catalog.upsert(ServiceInstance(
        id: "\(caller)-sidecar-proxy", name: "\(caller)-sidecar-proxy", kind: .connectProxy,
        address: "10.1.\(index / 200).\(index % 200)", port: 21000,
        taggedAddresses: ["consul-virtual": TaggedAddress(address: "240.0.\(index / 200).\(index % 200)")],
        proxy: ProxyConfig(
          destinationServiceName: caller, localServicePort: 8080, mode: index % 10 == 0 ? .transparent : nil,
          upstreams: upstreams)))
    }
    try walk(catalog, certificates: MeshCertificates(rootsPEM: "roots", leaves: leaves), steps: 80, seed: 42)
  }

  @Test("a sidecar reaching one service twice keeps the first upstream's filter when another upstream changes")
  func repeatedDestination() throws {
    var catalog = CatalogSnapshot(datacenter: "dc1", trustDomain: "11111111-2222-3333-4444-555555555555.consul")
    for name in ["fn-1", "fn-2"] {
      catalog.lambdas[name] = LambdaRegistration(
        service: name, source: .envoyExtension,
        function: .success(LambdaFunction(arn: try LambdaARN("arn:aws:lambda:us-east-1:123456789012:function:\(name)"))))
    }
    var upstreams = [("fn-1", 10_001), ("fn-2", 10_002), ("fn-1", 10_003)].map { Upstream(destinationName: $0, localBindPort: $1) }
    // A mesh service twice, with different settings: the second takes the first's cluster.
    for (port, timeout) in [(10_004, 1000), (10_005, 2000)] {
      upstreams.append(Upstream(
        destinationName: "svc", localBindPort: port, config: .object(["connect_timeout_ms": .number(Double(timeout))])))
    }
    catalog.upsert(ServiceInstance(
      id: "svc", name: "svc", address: "10.2.0.1", port: 8080, connectNative: true))
    catalog.upsert(ServiceInstance(
      id: "app-sidecar-proxy", name: "app-sidecar-proxy", kind: .connectProxy, address: "10.1.0.1", port: 21000,
      proxy: ProxyConfig(destinationServiceName: "app", localServicePort: 8080, upstreams: upstreams)))
    let leaf = MeshCertificates.Leaf(certificatePEM: "cert", privateKeyPEM: "key")
    let certificates = MeshCertificates(rootsPEM: "roots", leaves: ["app": leaf])
    let translator = Translator()
    let state = TranslationState()
    _ = translator.translate(catalog, certificates: certificates, state: state)
    for _ in 0..<2 {
      let before = catalog
      guard case .success(var function) = catalog.lambdas["fn-2"]!.function else { return }
      function.invocationMode = function.invocationMode == .synchronous ? .asynchronous : .synchronous
      catalog.lambdas["fn-2"]!.function = .success(function)
      let kept = translator.translate(catalog, certificates: certificates, change: CatalogChange(from: before, to: catalog), state: state)
      let fresh = translator.translate(catalog, certificates: certificates)
      #expect(kept.changed == ["app-sidecar-proxy"])
      #expect(kept.proxies["app-sidecar-proxy"]?.snapshot == fresh.proxies["app-sidecar-proxy"]?.snapshot)
      #expect(kept.proxies["app-sidecar-proxy"]?.findings == fresh.proxies["app-sidecar-proxy"]?.findings)
    }
  }

  /// Applies `steps` random changes; after each, the kept translation must equal a fresh one.
  func walk(_ start: CatalogSnapshot, certificates start2: MeshCertificates, steps: Int, seed: UInt64) throws {
    var random = SplitMix(seed: seed)
    var catalog = start
    var certificates = start2
    let translator = Translator()
    let state = TranslationState()
    _ = translator.translate(catalog, certificates: certificates, state: state)
    var partial = 0
    for step in 0..<steps {
      let before = catalog
      let mutation = Self.mutate(&catalog, &certificates, &random)
      let change = CatalogChange(from: before, to: catalog)
      let kept = translator.translate(catalog, certificates: certificates, change: change, state: state)
      let fresh = translator.translate(catalog, certificates: certificates)
      if kept.changed != nil { partial += 1 }
      #expect(kept.proxies.keys.sorted() == fresh.proxies.keys.sorted(), "step \(step): \(mutation)")
      for (node, proxy) in fresh.proxies {
        #expect(kept.proxies[node]?.snapshot == proxy.snapshot, "step \(step) (\(mutation)): \(node)'s snapshot differs")
        #expect(kept.proxies[node]?.findings == proxy.findings, "step \(step) (\(mutation)): \(node)'s findings differ")
      }
      #expect(kept.plan.findings == fresh.plan.findings && kept.plan.routes == fresh.plan.routes, "step \(step): \(mutation)")
    }
    #expect(partial > steps / 3, "most changes should be translated in part, not whole")
  }

  /// One random change of the kind a catalog sees; returns what it did.
  static func mutate(_ catalog: inout CatalogSnapshot, _ certificates: inout MeshCertificates, _ random: inout SplitMix) -> String {
    let instances = catalog.instances.values.sorted { $0.id < $1.id }
    let services = Array(Set(instances.map(\.name)).union(catalog.lambdas.keys)).sorted()
    guard let instance = instances.randomElement(using: &random), let service = services.randomElement(using: &random) else {
      return "nothing"
    }
    switch Int.random(in: 0..<11, using: &random) {
    case 0:
      var changed = instance
      changed.health = changed.health == .critical ? .passing : .critical
      catalog.upsert(changed)
      return "health of \(instance.id)"
    case 1:
      catalog.removeInstance(id: instance.id)
      return "removed \(instance.id)"
    case 2:
      var copy = instance
      copy.id += "-copy\(Int.random(in: 0..<3, using: &random))"
      copy.address = "10.9.9.\(Int.random(in: 1..<250, using: &random))"
      catalog.upsert(copy)
      return "added \(copy.id)"
    case 3:
      guard var lambda = catalog.lambdas[service], case .success(var function) = lambda.function else {
        return "no lambda \(service)"
      }
      function.invocationMode = function.invocationMode == .synchronous ? .asynchronous : .synchronous
      lambda.function = Bool.random(using: &random) ? .success(function) : .failure(CatalogError("broken on purpose"))
      catalog.lambdas[service] = lambda
      return "lambda \(service)"
    case 4:
      var links = catalog.gatewayLinks["terminating-gateway"] ?? []
      if let index = links.firstIndex(of: service) { links.remove(at: index) } else { links.append(service) }
      catalog.gatewayLinks["terminating-gateway"] = links
      return "link \(service)"
    case 5:
      let source = services.randomElement(using: &random) ?? "web"
      var intentions = catalog.intentions[service] ?? ServiceIntentions(destination: service, sources: [])
      if let index = intentions.sources.firstIndex(where: { $0.name == source }) {
        intentions.sources.remove(at: index)
      } else {
        intentions.sources.append(IntentionSource(name: source, rules: [IntentionRule(allow: Bool.random(using: &random))]))
        intentions.sources.sort { $0.name < $1.name }
      }
      catalog.intentions[service] = intentions.sources.isEmpty ? nil : intentions
      return "intention \(source) -> \(service)"
    case 6:
      let protocols = ["tcp", "http", "http2", "grpc"]
      catalog.serviceDefaults[service, default: ServiceDefaults(name: service, protocol: "")].protocol =
        protocols.randomElement(using: &random)!
      return "protocol of \(service)"
    case 7:
      guard instance.kind == .connectProxy, var proxy = instance.proxy else { return "no proxy \(instance.id)" }
      if proxy.upstreams.isEmpty || Bool.random(using: &random) {
        proxy.upstreams.append(Upstream(destinationName: service, localBindPort: 11_000 + Int.random(in: 0..<50, using: &random)))
      } else {
        proxy.upstreams.removeLast()
      }
      var changed = instance
      changed.proxy = proxy
      catalog.upsert(changed)
      return "upstreams of \(instance.id)"
    case 8:
      guard let name = certificates.leaves.keys.sorted().randomElement(using: &random) else { return "no leaves" }
      certificates.leaves[name] = MeshCertificates.Leaf(certificatePEM: "cert-\(random.next())", privateKeyPEM: "key")
      return "leaf of \(name)"
    case 9:
      var changed = instance
      changed.taggedAddresses["consul-virtual"] = TaggedAddress(address: "240.1.\(Int.random(in: 0..<9, using: &random)).1")
      catalog.upsert(changed)
      return "virtual IP of \(instance.id)"
    default:
      let replaced = (catalog.instancesByService[service] ?? []).filter { _ in Bool.random(using: &random) }
      catalog.replaceInstances(ofService: service, with: replaced)
      return "instances of \(service) replaced"
    }
  }
}
