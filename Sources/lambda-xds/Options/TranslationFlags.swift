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

  @Option(help: "Answer Lambda function errors (200 with X-Amz-Function-Error) with this status, 400-599, for every Lambda service whose Meta lambda-xds/function-error-status does not say otherwise (default: pass them through, as Consul).")
  var lambdaFunctionErrorStatus: Int?

  func validate() throws {
    if let status = lambdaFunctionErrorStatus, !(400...599).contains(status) {
      throw ValidationError("--lambda-function-error-status must be from 400 to 599")
    }
    if let lambdaEndpoint {
      do { _ = try LambdaEndpoint(url: lambdaEndpoint) } catch { throw ValidationError("\(error)") }
    }
  }

  func options() throws -> TranslationOptions {
    TranslationOptions(
      lambdaEndpoint: try lambdaEndpoint.map { try LambdaEndpoint(url: $0) }, caBundlePath: lambdaCABundle,
      defaultIntentionPolicy: defaultIntentionPolicy, functionErrorStatus: lambdaFunctionErrorStatus)
  }
}

extension TranslationOptions.IntentionPolicy: ExpressibleByArgument {}
