import ConsulCatalog
import Foundation
import ResourceCache
import TestSupport
import Translation

/// One golden case: a catalog file, the certificates and options it is translated with.
struct GoldenCase: Sendable, CustomStringConvertible {
  var name: String
  var catalog: URL
  var withCertificates = true
  var options = TranslationOptions(caBundlePath: "/etc/ssl/certs/ca-certificates.crt")

  var description: String { name }

  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
  static let goldenRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
  static let example = EnvoyProcess.projectRoot.appendingPathComponent("envoy-configs/catalog.json")

  static func fixture(_ name: String, withCertificates: Bool = true) -> GoldenCase {
    GoldenCase(name: name, catalog: fixtures.appendingPathComponent("catalogs/\(name).json"), withCertificates: withCertificates)
  }

  static let all: [GoldenCase] = {
    var cases = [
      "direct", "direct-intentions", "canary", "gateway-services", "gated", "opposite", "invalid", "overrides", "intentions", "unhealthy-gateway",
      "mesh-inbound", "mesh-upstreams", "mesh-tproxy", "mesh-expose", "mesh-bad-input", "mesh-datacenters",
    ].map { fixture($0) }
    var noCertificates = fixture("gated", withCertificates: false)
    noCertificates.name = "gated-without-certificates"
    cases.append(noCertificates)
    var defaultDeny = fixture("intentions")
    defaultDeny.name = "intentions-default-deny"
    defaultDeny.options.defaultIntentionPolicy = .deny
    cases.append(defaultDeny)
    var globalErrors = fixture("overrides")
    globalErrors.name = "overrides-global-function-errors"
    globalErrors.options.functionErrorStatus = 503
    cases.append(globalErrors)
    var directDefaultDeny = fixture("direct-intentions")
    directDefaultDeny.name = "direct-intentions-default-deny"
    directDefaultDeny.options.defaultIntentionPolicy = .deny
    cases.append(directDefaultDeny)
    var tproxyDefaultDeny = fixture("mesh-tproxy")
    tproxyDefaultDeny.name = "mesh-tproxy-default-deny"
    tproxyDefaultDeny.options.defaultIntentionPolicy = .deny
    cases.append(tproxyDefaultDeny)
    cases.append(GoldenCase(name: "example", catalog: example))
    var local = GoldenCase(name: "example-local-endpoint", catalog: example)
    local.options.lambdaEndpoint = try! LambdaEndpoint(url: "http://127.0.0.1:9001")
    cases.append(local)
    return cases
  }()

  /// The files gateway-services' terminating-gateway entry names for TLS origination (Envoy
  /// reads them; validate mode needs them to exist), from the fixture certificates; written once
  /// (the test cases run in parallel), each atomically.
  static let originationFiles: Void = {
    let directory = URL(fileURLWithPath: "/tmp/lambda-xds-golden")
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let certificates = fixtures.appendingPathComponent("certificates")
    for (name, source) in [("search-ca.pem", "roots.pem"), ("client.pem", "api.pem"), ("client-key.pem", "api-key.pem")] {
      try! Data(contentsOf: certificates.appendingPathComponent(source))
        .write(to: directory.appendingPathComponent(name), options: .atomic)
    }
  }()

  /// The test-only mesh CA and leaves under Fixtures/certificates.
  static let certificates: MeshCertificates = {
    let directory = fixtures.appendingPathComponent("certificates")
    func read(_ file: String) -> String {
      try! String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
    }
    var leaves: [String: MeshCertificates.Leaf] = [:]
    for service in ["api", "payments", "authentication", "orders", "web", "db", "search", "ledger", "cache", "kafka", "orphan"] {
      leaves[service] = .init(certificatePEM: read("\(service).pem"), privateKeyPEM: read("\(service)-key.pem"))
    }
    return MeshCertificates(rootsPEM: read("roots.pem"), leaves: leaves)
  }()

  func translate() throws -> CatalogTranslation {
    let snapshot = try CatalogFile.snapshot(contentsOf: catalog.path)
    return Translator(options: options).translate(snapshot, certificates: withCertificates ? Self.certificates : .none)
  }

  /// The golden documents: each proxy's config dump, and every finding.
  func documents() throws -> [String: String] {
    let translation = try translate()
    var documents: [String: String] = [:]
    var findings = ["# routing plan"] + translation.plan.findings.map(\.description)
    for (node, proxy) in translation.proxies.sorted(by: { $0.key < $1.key }) {
      findings.append("# \(node)")
      findings += proxy.findings.map(\.description)
      if let snapshot = proxy.snapshot {
        documents["\(node).json"] = try EnvoyJSON.canonical(try snapshot.configDump())
      }
    }
    documents["findings.txt"] = findings.joined(separator: "\n") + "\n"
    return documents
  }
}
