import ArgumentParser
import ConsulCatalog
import Foundation
import ResourceCache
import Translation
import Yams

struct Dump: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the configuration generated for one proxy, in the shape of Envoy's /config_dump.",
    discussion: """
      Takes the same catalog and translation flags as `serve`, so the output is exactly what
      `serve` would send. Private keys are redacted. Findings (services left out and why) go to
      standard error.

      Examples:
        lambda-xds dump --catalog-file envoy-configs/catalog.json --node-id api-sidecar-proxy
        lambda-xds dump --node-id terminating-gateway --format yaml
        lambda-xds dump --catalog-file envoy-configs/catalog.json --node-id api-sidecar-proxy --as-bootstrap > static.json
      """)

  enum Format: String, ExpressibleByArgument, CaseIterable {
    case json
    case yaml
  }

  @Option(help: "The proxy: its Consul service id (Envoy's node id).")
  var nodeID: String

  @Option(help: "json or yaml.")
  var format: Format = .json

  @Flag(help: "Print a static Envoy bootstrap holding the same resources (for envoy --mode validate).")
  var asBootstrap = false

  @OptionGroup var source: CatalogSourceOptions
  @OptionGroup var certificates: CertificateOptions
  @OptionGroup var translation: TranslationFlags
  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let logger = logging.makeLogger()
    let (catalog, mesh) = try await certificates.readCatalog(source, logger: logger)
    let result = Translator(options: try translation.options()).translate(catalog, certificates: mesh)
    guard let proxy = result.proxies[nodeID] else {
      let known = result.proxies.keys.sorted()
      throw CommandError(
        "no proxy with node id \(nodeID) in the catalog; known proxies: "
          + (known.isEmpty ? "none" : known.joined(separator: ", ")))
    }
    for finding in proxy.findings { FileHandle.standardError.write(Data("\(finding)\n".utf8)) }
    guard let snapshot = proxy.snapshot else { throw ExitCode.failure }
    let json = asBootstrap
      ? try EnvoyJSON.canonical(try snapshot.staticBootstrap(nodeID: nodeID))
      : try EnvoyJSON.canonical(try snapshot.configDump())
    print(format == .json ? json : try Self.yaml(json), terminator: "")
  }

  static func yaml(_ json: String) throws -> String {
    try Yams.serialize(node: yamlNode(try JSONSerialization.jsonObject(with: Data(json.utf8))), sortKeys: true)
  }

  /// JSON's numbers and booleans both arrive as NSNumber; its type code tells them apart.
  private static func yamlNode(_ value: Any) -> Node {
    switch value {
    case let object as [String: Any]:
      return Node.mapping(Node.Mapping(object.map { (Node($0.key), yamlNode($0.value)) }))
    case let array as [Any]:
      return Node.sequence(Node.Sequence(array.map(yamlNode)))
    case let string as String:
      return Node(string, Tag(.str), string.isEmpty || Double(string) != nil || ["true", "false", "null"].contains(string) ? .singleQuoted : .any)
    case let number as NSNumber:
      switch String(cString: number.objCType) {
      case "c", "B": return Node(number.boolValue ? "true" : "false", Tag(.bool))
      case "d", "f": return Node("\(number.doubleValue)", Tag(.float))
      default: return Node("\(number.int64Value)", Tag(.int))
      }
    default:
      return Node("null", Tag(.null))
    }
  }
}
