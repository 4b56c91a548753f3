/// Decides whether a stream may receive a node's configuration (and its private keys).
///
/// Asked when the stream names its node, and again every `recheckInterval` while it is open, so
/// a revoked token ends the stream.
public protocol StreamAuthorizer: Sendable {
  /// nil when allowed; otherwise why not (sent to the client with PERMISSION_DENIED).
  func denial(nodeID: String, credentials: StreamCredentials) async -> String?
}

/// What a stream presented: its `x-consul-token`, and the URI SANs of its verified client
/// certificate (mutual TLS), e.g. `spiffe://<td>/ns/default/dc/dc1/svc/api`.
public struct StreamCredentials: Sendable {
  public var token: String?
  public var certificateURIs: [String]
  /// Whether the stream came over mutual TLS with a verified client certificate.
  public var hasClientCertificate: Bool

  public init(token: String? = nil, certificateURIs: [String] = [], hasClientCertificate: Bool = false) {
    self.token = token
    self.certificateURIs = certificateURIs
    self.hasClientCertificate = hasClientCertificate
  }
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
