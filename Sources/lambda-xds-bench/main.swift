import ConsulCatalog
import Foundation
import ResourceCache
import Translation

// Benchmarks (figures, not pass/fail): run with `swift run -c release lambda-xds-bench`.

/// Builds a catalog snapshot of `count` Lambda services, each with a sidecar caller, the way the
/// catalog file and the Consul watcher do, and reports the time per build.
func catalogBuild(services count: Int) {
  var registrations: [JSONValue] = []
  var entries: [JSONValue] = []
  for index in 0..<count {
    let name = "fn-\(index)"
    registrations.append(.object([
      "Node": .string("lambdas"),
      "Service": .object(["ID": .string(name), "Service": .string(name)]),
    ]))
    entries.append(.object([
      "Kind": .string("service-defaults"), "Name": .string(name), "Protocol": .string("http"),
      "EnvoyExtensions": .array([.object([
        "Name": .string("builtin/aws/lambda"),
        "Arguments": .object(["ARN": .string("arn:aws:lambda:us-east-1:123456789012:function:\(name)")]),
      ])]),
    ]))
  }
  var snapshot: CatalogSnapshot?
  let best = bestOf(5) { snapshot = CatalogSnapshot(datacenter: "dc1", registrations: registrations, configEntries: entries) }
  let valid = snapshot!.lambdas.values.filter(\.isValid).count
  print(String(format: "catalog snapshot, %d Lambda services: best of 5 = %.1f ms (%d valid)", count, best * 1000, valid))
}

/// Translates a catalog of `lambdas` Lambda services (every 4th gated) and `sidecars` sidecars
/// with `upstreams` Lambda upstreams each, plus two gateway instances; reports the time per full
/// translation and how many distinct encoded buffers back all proxies' resources.
func translation(lambdas: Int, sidecars: Int, upstreams: Int, shared: Bool = false) {
  var catalog = CatalogSnapshot(datacenter: "dc1", trustDomain: "11111111-2222-3333-4444-555555555555.consul")
  for index in 0..<lambdas {
    let name = "fn-\(index)"
    let function = LambdaFunction(arn: try! LambdaARN("arn:aws:lambda:us-east-1:123456789012:function:\(name)"))
    catalog.lambdas[name] = LambdaRegistration(service: name, source: .envoyExtension, function: .success(function), warnings: [])
  }
  catalog.gatewayLinks["terminating-gateway"] = stride(from: 0, to: lambdas, by: 4).map { "fn-\($0)" }
  for index in 0..<2 {
    let id = "terminating-gateway-\(index)"
    catalog.upsert(ServiceInstance(
      id: id, name: "terminating-gateway", kind: .terminatingGateway, address: "10.0.0.\(index + 1)", port: 8443))
  }
  var services: Set<String> = []
  for index in 0..<sidecars {
    let caller = "app-\(index)"
    // `shared`: every sidecar's first upstream is fn-1, which the change then reaches everywhere.
    let upstreamList = (0..<upstreams).map { offset in
      Upstream(
        destinationName: shared && offset == 0 ? "fn-1" : "fn-\((index * upstreams + offset) % lambdas)",
        localBindPort: 10_000 + offset)
    }
    services.insert(caller)
    catalog.upsert(ServiceInstance(
      id: "\(caller)-sidecar-proxy", name: "\(caller)-sidecar-proxy", kind: .connectProxy, address: "10.1.0.1", port: 21000,
      proxy: ProxyConfig(destinationServiceName: caller, upstreams: upstreamList)))
  }
  let leaf = MeshCertificates.Leaf(certificatePEM: "cert", privateKeyPEM: "key")
  var leaves = Dictionary(uniqueKeysWithValues: services.map { ($0, leaf) })
  for name in catalog.gatewayLinks["terminating-gateway"]! { leaves[name] = leaf }
  let certificates = MeshCertificates(rootsPEM: "roots", leaves: leaves)
  let translator = Translator()
  var result: CatalogTranslation?
  let best = bestOf(phases.contains("change") ? 1 : 3) { result = translator.translate(catalog, certificates: certificates) }
  // What serve does on a catalog change: translate only what the change touches, keeping the rest.
  let state = TranslationState()
  _ = translator.translate(catalog, certificates: certificates, state: state)
  var changed = catalog
  var flip = false
  // `change` repeats it long enough for a profiler.
  let incremental = bestOf(phases.contains("change") ? 3000 : 5) {
    flip.toggle()
    changed.lambdas["fn-1"]?.function = .success(
      LambdaFunction(arn: try! LambdaARN("arn:aws:lambda:us-east-1:123456789012:function:fn-1\(flip ? ":live" : "")")))
    _ = translator.translate(changed, certificates: certificates, change: CatalogChange(services: ["fn-1"]), state: state)
  }
  var resources = 0
  var buffers = Set<Int>()
  for proxy in result!.proxies.values {
    guard let snapshot = proxy.snapshot else { continue }
    for type in ResourceType.allCases {
      for resource in snapshot.resources(type).values {
        resources += 1
        buffers.insert(resource.bytes.withUnsafeBytes { Int(bitPattern: $0.baseAddress) })
      }
    }
  }
  print(String(
    format: "translation, %d Lambda services, %d sidecars x %d upstreams%@, 2 gateways: full %.1f ms, after a one-service change %.3f ms (best of %d); %d resources in snapshots backed by %d encoded buffers",
    lambdas, sidecars, upstreams, shared ? " (the first is fn-1 for all)" : "", best * 1000, incremental * 1000,
    phases.contains("change") ? 3000 : 5, resources, buffers.count))
}

func bestOf(_ runs: Int, _ body: () -> Void) -> Double {
  var best = Double.infinity
  for _ in 0..<runs {
    let start = ContinuousClock.now
    body()
    let elapsed = ContinuousClock.now - start
    best = min(best, Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
  }
  return best
}

/// Reads a catalog file (e.g. the one `lambda-xds-loadgen catalog` writes) as `serve` does: in
/// full once, then again after an edit of one registration's port, incrementally (best of 5, or
/// of `BENCH_EDITS` edits, so a profiler sees mostly re-reads).
func catalogFile(_ path: String) {
  guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
    print("cannot read \(path)")
    return
  }
  var reader = CatalogFileReader(name: path)
  let full = bestOf(1) { _ = try! reader.read(data) }
  guard let range = text.range(of: #""Port": "#) ?? text.range(of: #""Port":"#) else { return print("no Port in \(path)") }
  // Two versions that differ in one registration's port, made before timing: each read is an edit.
  let end = text[range.upperBound...].firstIndex { !$0.isNumber }!
  let versions = [20_001, 20_002].map { port in
    var edited = text
    edited.replaceSubrange(range.upperBound..<end, with: "\(port)")
    return Data(edited.utf8)
  }
  var next = 0
  let edits = Int(ProcessInfo.processInfo.environment["BENCH_EDITS"] ?? "") ?? 5
  let edit = bestOf(edits) {
    _ = try! reader.read(versions[next])
    next = 1 - next
  }
  // And two that differ in one Lambda's ARN (a config entry), as `loadgen run --change all` edits.
  var entryEdit = Double.nan
  if let function = text.range(of: ":function:") {
    let entryVersions = ["a", "b"].map { suffix in
      var edited = text
      edited.insert(contentsOf: suffix, at: function.upperBound)
      return Data(edited.utf8)
    }
    entryEdit = bestOf(edits) {
      _ = try! reader.read(entryVersions[next])
      next = 1 - next
    }
  }
  print(String(
    format: "catalog file %@ (%.1f MB): first read %.1f ms, re-read after a one-registration edit %.1f ms, after a one-entry edit %.1f ms (best of 5)",
    (path as NSString).lastPathComponent, Double(data.count) / 1e6, full * 1000, edit * 1000, entryEdit * 1000))
}

// `lambda-xds-bench [snapshot] [translation] [change] [wide] [file PATH]`: both unless named (so a profiler sees one).
let arguments = Array(CommandLine.arguments.dropFirst())
if let index = arguments.firstIndex(of: "file"), index + 1 < arguments.count { catalogFile(arguments[index + 1]) }
let phases = Set(arguments).subtracting(["file"]).filter { !$0.contains("/") }
if !arguments.isEmpty && phases.isEmpty { exit(0) }
if phases.isEmpty || phases.contains("snapshot") { catalogBuild(services: 10_000) }
if phases.isEmpty || !phases.isDisjoint(with: ["translation", "change"]) { translation(lambdas: 10_000, sidecars: 1_000, upstreams: 10) }
// A change every sidecar reads (its first upstream): what reaching all proxies costs to translate.
if phases.isEmpty || phases.contains("wide") { translation(lambdas: 200, sidecars: 10_000, upstreams: 5, shared: true) }
