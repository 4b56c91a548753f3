/// Decides whether a stream may receive a node's configuration (and its private keys).
///
/// Asked when the stream names its node, and again every `recheckInterval` while it is open, so
/// a revoked token ends the stream.
public protocol StreamAuthorizer: Sendable {
  /// nil when allowed; otherwise why not (sent to the client with PERMISSION_DENIED).
  func denial(nodeID: String, token: String?) async -> String?
}

/// Authorization settings of the ADS service.
public struct StreamAuthorization: Sendable {
  public var authorizer: any StreamAuthorizer
  public var recheckInterval: Duration

  public init(authorizer: any StreamAuthorizer, recheckInterval: Duration = .seconds(60)) {
    self.authorizer = authorizer
    self.recheckInterval = recheckInterval
  }

  /// The metadata key Envoy sends the token in, as Consul's xDS server expects.
  public static let tokenKey = "x-consul-token"
}
