import ArgumentParser
import ConsulCatalog
import Translation

struct Check: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Report every Lambda registration problem in the catalog; exit 1 when any is an error.",
    discussion: """
      Reports invalid ARNs, a region that contradicts the ARN, misspelled legacy Meta keys,
      unknown invocation modes, Protocol other than http, gateways linked without a healthy
      instance, intentions that direct calls cannot enforce, and per-proxy problems.

      Examples:
        lambda-xds check --catalog-file envoy-configs/catalog.json
        CONSUL_HTTP_ADDR=127.0.0.1:8500 lambda-xds check
      """)

  @OptionGroup var source: CatalogSourceOptions
  @OptionGroup var certificates: CertificateOptions
  @OptionGroup var translation: TranslationFlags
  @OptionGroup var logging: LoggingOptions

  func run() async throws {
    let (catalog, mesh) = try await certificates.readCatalog(source, logger: logging.makeLogger())
    let result = Translator(options: try translation.options()).translate(catalog, certificates: mesh)
    let lines = result.report
    let valid = result.plan.routes.values.filter { $0.function != nil }.count
    print("\(result.plan.routes.count) Lambda services (\(valid) configured), \(result.proxies.count) proxies")
    for line in lines { print(line) }
    if result.hasErrors { throw ExitCode.failure }
    if lines.isEmpty { print("no problems found") }
  }
}
