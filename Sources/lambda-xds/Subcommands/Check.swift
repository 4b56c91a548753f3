import ArgumentParser
import ConsulCatalog
import Foundation
import Translation

struct Check: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Report every problem lambda-xds finds in the catalog; exit 1 when any is an error.",
    discussion: """
      Lambda services: invalid ARNs, a region that contradicts the ARN, misspelled legacy Meta
      keys, unknown invocation modes, Protocol other than http, gateways linked without a healthy
      instance. Sidecars: registrations without a
      port or with an unreadable LocalServicePort, upstreams whose destination has no (healthy)
      instance, two upstreams on one port, a protocol conflict between caller and destination,
      services reachable in transparent-proxy mode without a virtual IP, unreadable Config values.

      With --iam it prints instead, as JSON keyed by node id, the IAM policy document each signing
      proxy needs under the current routing plan (lambda:InvokeFunction on exactly the ARNs it
      signs for); the findings go to standard error.

      Examples:
        lambda-xds check --catalog-file envoy-configs/catalog.json
        lambda-xds check --iam | jq '."terminating-gateway"' 
        CONSUL_HTTP_ADDR=127.0.0.1:8500 lambda-xds check
      """)

  @OptionGroup var source: CatalogSourceOptions
  @OptionGroup var certificates: CertificateOptions
  @OptionGroup var translation: TranslationFlags
  @OptionGroup var logging: LoggingOptions

  @Flag(help: "Print the IAM policy each signing proxy needs, as JSON by node id (findings to standard error).")
  var iam = false

  func run() async throws {
    let (catalog, mesh) = try await certificates.readCatalog(source, logger: logging.makeLogger())
    let result = Translator(options: try translation.options()).translate(catalog, certificates: mesh)
    let lines = result.report
    if iam {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      print(String(decoding: try encoder.encode(IAMPolicy.byProxy(result)), as: UTF8.self))
      for line in lines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
      if result.hasErrors { throw ExitCode.failure }
      return
    }
    let valid = result.plan.routes.values.filter { $0.function != nil }.count
    let sidecars = result.proxies.values.filter { $0.kind == .connectProxy }.count
    print(
      "\(result.plan.routes.count) Lambda services (\(valid) configured), \(result.proxies.count) proxies"
        + " (\(sidecars) sidecars, \(result.proxies.count - sidecars) gateways)")
    for line in lines { print(line) }
    if result.hasErrors { throw ExitCode.failure }
    if lines.isEmpty { print("no problems found") }
  }
}
