public import ArgumentParser
import ConsulCatalog
public import Translation

/// Every flag that changes the generated configuration. `serve`, `dump` and `check` share this
/// group, so `dump` shows exactly what `serve` would send.
struct TranslationFlags: ParsableArguments {
  @Option(help: "Send every Lambda invocation here instead of AWS (http://HOST:PORT plain, https:// with TLS).")
  var lambdaEndpoint: String?

  @Option(help: "CA bundle Envoy verifies AWS's certificate with.")
  var lambdaCABundle = "/etc/ssl/certs/ca-certificates.crt"

  @Option(help: "Gateway decision for callers no intention names: allow or deny (default: deny when Consul's ACLs default to deny, else allow).")
  var defaultIntentionPolicy: TranslationOptions.IntentionPolicy?

  func validate() throws {
    if let lambdaEndpoint {
      do { _ = try LambdaEndpoint(url: lambdaEndpoint) } catch { throw ValidationError("\(error)") }
    }
  }

  func options() throws -> TranslationOptions {
    TranslationOptions(
      lambdaEndpoint: try lambdaEndpoint.map { try LambdaEndpoint(url: $0) }, caBundlePath: lambdaCABundle,
      defaultIntentionPolicy: defaultIntentionPolicy)
  }
}

extension TranslationOptions.IntentionPolicy: ExpressibleByArgument {}
