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

  public init(
    lambdaEndpoint: LambdaEndpoint? = nil, caBundlePath: String = "/etc/ssl/certs/ca-certificates.crt",
    connectTimeoutMilliseconds: Int = 5000, defaultIntentionPolicy: IntentionPolicy? = nil
  ) {
    self.lambdaEndpoint = lambdaEndpoint
    self.caBundlePath = caBundlePath
    self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
    self.defaultIntentionPolicy = defaultIntentionPolicy
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
