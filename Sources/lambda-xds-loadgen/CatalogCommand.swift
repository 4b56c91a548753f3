import ArgumentParser
import Foundation

/// Generates a benchmark mesh in lambda-xds's catalog-file format, or edits one in place.
struct CatalogCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "catalog",
    abstract: "Generate a benchmark catalog file (or, with --mutate, edit one atomically).",
    discussion: """
      The mesh: --services ordinary services svc-K (Connect-native instances, so they have mesh
      endpoints; even K http, odd K tcp); --lambdas Lambda services lam-K (service-defaults with
      EnvoyExtensions builtin/aws/lambda; every K % 4 == 3 is linked to the terminating gateway);
      --sidecars sidecars app-I-sidecar-proxy, each with --upstreams upstreams: lam-0 (the Lambda
      every sidecar calls), svc-0, then alternately other Lambdas and services; app-0's last
      upstream is only-app-0, a service no other proxy calls. --gateways terminating gateway
      instances (0 for none). nodes.txt lists the sidecars' node ids, then the gateways'.

      --mutate one: moves only-app-0's instance to the next port (app-0's endpoints change).
      --mutate all: renames lam-0's function in its ARN (every sidecar's listener changes).
      Either rewrites --out atomically (temporary file + rename) and prints the node ids that
      must observe the change, one a line.

      Examples:
        lambda-xds-loadgen catalog --services 100 --lambdas 20 --sidecars 100 --upstreams 5 \\
          --out catalog.json --nodes-out nodes.txt
        lambda-xds-loadgen catalog --out catalog.json --mutate all
      """)

  @Option(help: "Ordinary (non-Lambda) services.") var services = 100
  @Option(help: "Lambda services (a quarter of them behind the terminating gateway).") var lambdas = 20
  @Option(help: "Sidecars (connect-proxy registrations), one per application service app-I.") var sidecars = 100
  @Option(help: "Upstreams per sidecar (at least 1).") var upstreams = 5
  @Option(help: "Terminating gateway instances.") var gateways = 1
  @Option(help: "The catalog file to write (or, with --mutate, to edit).") var out: String
  @Option(help: "Where to write the node ids, one a line.") var nodesOut: String?
  @Option(help: "Also write the mesh as the Consul simulator's start state (consul_simulator.py --load FILE).")
  var simulatorOut: String?
  @Option(help: "Edit --out instead of generating: one | all.") var mutate: MutationScope?

  func validate() throws {
    if mutate == nil {
      guard services >= 1, lambdas >= 1, sidecars >= 0, upstreams >= 1, gateways >= 0 else {
        throw ValidationError("--services and --lambdas must be at least 1, --upstreams at least 1")
      }
    }
    if simulatorOut != nil && mutate != nil { throw ValidationError("--simulator-out goes with generating, not --mutate") }
  }

  func run() throws {
    if let mutate {
      let mutation = try CatalogMutation.prepare(path: out, scope: mutate)
      try mutation.apply()
      printError("catalog: \(mutation.summary); \(mutation.affected.count) proxies must observe it")
      print(mutation.affected.sorted().joined(separator: "\n"))
      return
    }
    let mesh = MeshSpec(
      services: services, lambdas: lambdas, sidecars: sidecars, upstreams: upstreams, gateways: gateways)
    let data = try JSONSerialization.data(withJSONObject: mesh.catalog(), options: [.sortedKeys])
    try writeAtomically(data, to: out)
    // The simulator reads the catalog file's own format.
    if let simulatorOut { try writeAtomically(data, to: simulatorOut) }
    if let nodesOut {
      try Data((mesh.nodeIDs.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: nodesOut))
    }
    printError(
      "catalog: \(services) services, \(lambdas) Lambdas (\(mesh.gatedCount) gated), \(sidecars) sidecars x \(upstreams) upstreams, \(gateways) gateways -> \(out) (\(data.count) bytes)"
    )
  }
}

enum MutationScope: String, ExpressibleByArgument, Sendable, Codable {
  case one, all
}

/// The generated mesh; deterministic for given sizes.
struct MeshSpec {
  var services: Int
  var lambdas: Int
  var sidecars: Int
  var upstreams: Int
  var gateways: Int

  static let trustDomain = "11111111-2222-3333-4444-555555555555.consul"
  static let soloService = "only-app-0"
  static let sharedLambda = "lam-0"

  func isGated(_ lambda: Int) -> Bool { gateways > 0 && lambda % 4 == 3 }
  var gatedCount: Int { (0..<lambdas).filter(isGated).count }

  var sidecarIDs: [String] { (0..<sidecars).map { "app-\($0)-sidecar-proxy" } }
  var gatewayIDs: [String] { (0..<gateways).map { $0 == 0 ? "terminating-gateway" : "terminating-gateway-\($0)" } }
  var nodeIDs: [String] { sidecarIDs + gatewayIDs }

  static func arn(_ function: String) -> String { "arn:aws:lambda:us-east-1:123456789012:function:\(function)" }

  /// Upstream destinations of app-I: lam-0, svc-0, then alternately other Lambdas and services.
  func destinations(of app: Int) -> [String] {
    var names: [String] = []
    for slot in 0..<upstreams {
      if slot == 0 {
        names.append(Self.sharedLambda)
      } else if slot == 1 {
        names.append("svc-0")
      } else if slot % 2 == 0, lambdas > 1 {
        names.append("lam-\(1 + (app * upstreams + slot) % (lambdas - 1))")
      } else if services > 1 {
        names.append("svc-\(1 + (app * upstreams + slot) % (services - 1))")
      } else {
        names.append("lam-\(1 + (app * upstreams + slot) % max(1, lambdas - 1))")
      }
    }
    if app == 0 {
      if names.count >= 3 { names[names.count - 1] = Self.soloService } else { names.append(Self.soloService) }
    }
    // Two upstreams to one destination would share a cluster; keep each once.
    var seen = Set<String>()
    return names.filter { seen.insert($0).inserted }
  }

  func catalog() -> [String: Any] {
    var registrations: [[String: Any]] = []
    var entries: [[String: Any]] = []
    func address(_ block: Int, _ index: Int) -> String { "10.\(block).\(index / 250 % 250).\(index % 250 + 1)" }

    for k in 0..<services {
      registrations.append([
        "Node": "svc-node-\(k % 64)", "Address": address(1, k % 64),
        "Service": [
          "ID": "svc-\(k)", "Service": "svc-\(k)", "Address": address(1, k), "Port": 8080,
          "Connect": ["Native": true],
        ] as [String: Any],
      ])
      entries.append(["Kind": "service-defaults", "Name": "svc-\(k)", "Protocol": k % 2 == 0 ? "http" : "tcp"])
    }
    registrations.append([
      "Node": "svc-node-solo", "Address": "10.3.0.1",
      "Service": [
        "ID": Self.soloService, "Service": Self.soloService, "Address": "10.3.0.1", "Port": 7000,
        "Connect": ["Native": true],
      ] as [String: Any],
    ])
    entries.append(["Kind": "service-defaults", "Name": Self.soloService, "Protocol": "http"])

    var gated: [[String: Any]] = []
    for k in 0..<lambdas {
      registrations.append([
        "Node": "lambdas", "SkipNodeUpdate": true,
        "NodeMeta": ["external-node": "true", "external-probe": "true"],
        "Service": ["ID": "lam-\(k)", "Service": "lam-\(k)"],
      ])
      entries.append([
        "Kind": "service-defaults", "Name": "lam-\(k)", "Protocol": "http",
        "EnvoyExtensions": [
          ["Name": "builtin/aws/lambda", "Arguments": ["ARN": Self.arn("lam-\(k)"), "PayloadPassthrough": true]]
        ],
      ])
      if isGated(k) { gated.append(["Name": "lam-\(k)"]) }
    }

    for i in 0..<sidecars {
      let app = "app-\(i)"
      let node = "app-node-\(i)"
      let ip = address(2, i)
      registrations.append([
        "Node": node, "Address": ip,
        "Service": ["ID": app, "Service": app, "Address": ip, "Port": 9000] as [String: Any],
      ])
      let upstreamList: [[String: Any]] = destinations(of: i).enumerated().map { slot, name in
        ["DestinationName": name, "LocalBindPort": 10000 + slot]
      }
      registrations.append([
        "Node": node, "Address": ip,
        "Service": [
          "Kind": "connect-proxy", "ID": "\(app)-sidecar-proxy", "Service": "\(app)-sidecar-proxy",
          "Address": ip, "Port": 21000,
          "Proxy": [
            "DestinationServiceName": app, "DestinationServiceID": app,
            "LocalServiceAddress": "127.0.0.1", "LocalServicePort": 9000, "Upstreams": upstreamList,
          ] as [String: Any],
        ] as [String: Any],
        "Checks": [
          ["CheckID": "\(app)-sidecar-alive", "Name": "sidecar", "Status": "passing", "ServiceID": "\(app)-sidecar-proxy"]
        ],
      ])
      entries.append(["Kind": "service-defaults", "Name": app, "Protocol": "http"])
    }

    for (index, id) in gatewayIDs.enumerated() {
      registrations.append([
        "Node": "gateway-node-\(index)", "Address": "10.4.0.\(index + 1)",
        "Service": [
          "Kind": "terminating-gateway", "ID": id, "Service": "terminating-gateway",
          "Address": "10.4.0.\(index + 1)", "Port": 8443,
        ] as [String: Any],
        "Checks": [["CheckID": "\(id)-alive", "Name": "gateway", "Status": "passing", "ServiceID": id]],
      ])
    }
    if gateways > 0 {
      entries.append(["Kind": "terminating-gateway", "Name": "terminating-gateway", "Services": gated])
    }

    return [
      "datacenter": "dc1", "trust_domain": Self.trustDomain,
      "registrations": registrations, "config_entries": entries,
    ]
  }
}

/// One edit of a generated catalog file: the new bytes are prepared first, so `apply()` is only
/// the rename and its moment can be taken as the change's start.
struct CatalogMutation {
  var path: String
  var data: Data
  var summary: String
  /// Node ids whose configuration the edit changes.
  var affected: Set<String>

  static func prepare(path: String, scope: MutationScope) throws -> CatalogMutation {
    let original = try Data(contentsOf: URL(fileURLWithPath: path))
    guard var catalog = try JSONSerialization.jsonObject(with: original) as? [String: Any],
      var registrations = catalog["registrations"] as? [[String: Any]],
      var entries = catalog["config_entries"] as? [[String: Any]]
    else { throw LoadgenError("\(path) is not a catalog file") }

    // Who calls what, read from the file itself (so an edited file still reports correctly).
    var callers: [String: Set<String>] = [:]
    for registration in registrations {
      guard let service = registration["Service"] as? [String: Any],
        service["Kind"] as? String == "connect-proxy", let id = service["ID"] as? String,
        let proxy = service["Proxy"] as? [String: Any], let upstreams = proxy["Upstreams"] as? [[String: Any]]
      else { continue }
      for upstream in upstreams {
        if let name = upstream["DestinationName"] as? String { callers[name, default: []].insert(id) }
      }
    }

    var summary = ""
    var affected = Set<String>()
    switch scope {
    case .one:
      guard
        let index = registrations.firstIndex(where: {
          ($0["Service"] as? [String: Any])?["ID"] as? String == MeshSpec.soloService
        }), var service = registrations[index]["Service"] as? [String: Any]
      else { throw LoadgenError("\(path) has no \(MeshSpec.soloService) instance (not a generated catalog?)") }
      let port = (service["Port"] as? Int ?? 7000)
      let next = port >= 7999 ? 7000 : port + 1
      service["Port"] = next
      registrations[index]["Service"] = service
      summary = "\(MeshSpec.soloService) instance port \(port) -> \(next)"
      affected = callers[MeshSpec.soloService] ?? []
    case .all:
      guard
        let index = entries.firstIndex(where: {
          $0["Kind"] as? String == "service-defaults" && $0["Name"] as? String == MeshSpec.sharedLambda
        }), var extensions = entries[index]["EnvoyExtensions"] as? [[String: Any]],
        var arguments = extensions.first?["Arguments"] as? [String: Any],
        let arn = arguments["ARN"] as? String
      else { throw LoadgenError("\(path) has no Lambda \(MeshSpec.sharedLambda) (not a generated catalog?)") }
      // lam-0 -> lam-0-v1 -> lam-0-v2 ...
      let function = String(arn.split(separator: ":").last ?? "")
      var generation = 0
      if let dash = function.range(of: "-v", options: .backwards), let n = Int(function[dash.upperBound...]) {
        generation = n
      }
      let next = MeshSpec.arn("\(MeshSpec.sharedLambda)-v\(generation + 1)")
      arguments["ARN"] = next
      extensions[0]["Arguments"] = arguments
      entries[index]["EnvoyExtensions"] = extensions
      summary = "\(MeshSpec.sharedLambda) ARN -> \(next)"
      affected = callers[MeshSpec.sharedLambda] ?? []
    }
    catalog["registrations"] = registrations
    catalog["config_entries"] = entries
    let data = try JSONSerialization.data(withJSONObject: catalog, options: [.sortedKeys])
    return CatalogMutation(path: path, data: data, summary: summary, affected: affected)
  }

  func apply() throws { try writeAtomically(data, to: path) }
}
