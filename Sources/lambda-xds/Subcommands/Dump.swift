import ArgumentParser
import ConsulCatalog
import Foundation
import ResourceCache
import Translation

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

  @Option(help: "The proxy: its Consul service id (Envoy's node id).")
  var nodeID: String

  @Option(help: "json or yaml.")
  var format: OutputFormat = .json

  @Flag(help: "Print a static Envoy bootstrap holding the same resources (for envoy --mode validate).")
  var asBootstrap = false

  @Option(help: "Ask a running `serve` (its admin URL, e.g. http://127.0.0.1:19100) instead of reading the catalog.")
  var server: String?

  @OptionGroup var source: CatalogSourceOptions
  @OptionGroup var certificates: CertificateOptions
  @OptionGroup var translation: TranslationFlags
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if server != nil && asBootstrap { throw ValidationError("--as-bootstrap needs a catalog source, not --server") }
  }

  func run() async throws {
    if let server {
      let remote = try await RemoteDump.fetch(server: server, nodeID: nodeID)
      FileHandle.standardError.write(Data(remote.report.utf8))
      print(try format.render(remote.configDump), terminator: "")
      return
    }
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
    print(try format.render(json), terminator: "")
  }
}
