public import ConsulCatalog

/// Settings that change the generated configuration. `serve` and `dump` take the same flags, so
/// `dump` shows exactly what `serve` sends.
public struct TranslationOptions: Sendable, Hashable {
  public enum IntentionPolicy: String, Sendable, Hashable, CaseIterable {
    case allow
    case deny
  }

  /// Overrides every Lambda endpoint, including per-service ones (a local stand-in, LocalStack).
  public var lambdaEndpoint: LambdaEndpoint?
  /// CA bundle Envoy verifies AWS's certificate with (Consul does not verify it at all).
  public var caBundlePath: String
  public var connectTimeoutMilliseconds: Int
  /// What the gateway does for callers no intention names. nil: as Consul does, deny when
  /// Consul's ACLs default to deny, else allow.
  public var defaultIntentionPolicy: IntentionPolicy?
  /// The status function errors reach callers with, for every Lambda service that does not set
  /// `lambda-xds/function-error-status` itself (`off` there opts out); nil: pass them through.
  public var functionErrorStatus: Int?

  public init(
    lambdaEndpoint: LambdaEndpoint? = nil, caBundlePath: String = "/etc/ssl/certs/ca-certificates.crt",
    connectTimeoutMilliseconds: Int = 5000, defaultIntentionPolicy: IntentionPolicy? = nil,
    functionErrorStatus: Int? = nil
  ) {
    self.lambdaEndpoint = lambdaEndpoint
    self.caBundlePath = caBundlePath
    self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
    self.defaultIntentionPolicy = defaultIntentionPolicy
    self.functionErrorStatus = functionErrorStatus
  }

  /// The status a function's errors are mapped to, after the global default; nil: none.
  func functionErrorStatus(for function: LambdaFunction) -> Int? {
    switch function.functionErrorStatus {
    case .status(let status): status
    case .off: nil
    case nil: functionErrorStatus
    }
  }

  /// The default intention policy for a catalog: the option, else Consul's ACL default.
  func intentionPolicy(for catalog: CatalogSnapshot) -> IntentionPolicy {
    defaultIntentionPolicy ?? (catalog.aclDefaultPolicy == "deny" ? .deny : .allow)
  }

  /// The endpoint a function is invoked at, after the overrides.
  func endpoint(for function: LambdaFunction) -> LambdaEndpoint {
    lambdaEndpoint ?? function.endpoint ?? .aws(region: function.region, partition: function.arn.partition)
  }
}
