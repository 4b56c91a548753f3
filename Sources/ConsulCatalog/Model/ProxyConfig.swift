/// A connect-proxy registration's `Proxy` block.
///
/// Read leniently: a field that cannot be used becomes a line in `problems` (reported for that
/// proxy) instead of rejecting the registration, so one bad value costs only what depends on it.
public struct ProxyConfig: Sendable, Equatable, Hashable {
  public var destinationServiceName: String
  public var destinationServiceID: String
  /// Where the local application listens: `local_app`'s endpoint.
  public var localServiceAddress: String
  /// nil when missing or unreadable (then there is no inbound listener).
  public var localServicePort: Int?
  /// nil: inherit from service-defaults, then proxy-defaults (default direct).
  public var mode: ProxyMode?
  public var transparentProxy: TransparentProxyConfig
  /// The free-form `Config` map (`protocol`, `bind_address`, `local_connect_timeout_ms`, ...).
  public var config: JSONValue
  public var upstreams: [Upstream]
  public var expose: ExposeConfig
  /// The registration's `MeshGateway.Mode` (nil: inherit).
  public var meshGateway: MeshGatewayMode?
  /// What could not be read, one line each.
  public var problems: [String]

  public init(
    destinationServiceName: String, destinationServiceID: String = "", localServiceAddress: String = "127.0.0.1",
    localServicePort: Int? = nil, mode: ProxyMode? = nil, transparentProxy: TransparentProxyConfig = .init(),
    config: JSONValue = .null, upstreams: [Upstream] = [], expose: ExposeConfig = .init(), meshGateway: MeshGatewayMode? = nil,
    problems: [String] = []
  ) {
    self.destinationServiceName = destinationServiceName
    self.destinationServiceID = destinationServiceID
    self.localServiceAddress = localServiceAddress
    self.localServicePort = localServicePort
    self.mode = mode
    self.transparentProxy = transparentProxy
    self.config = config
    self.upstreams = upstreams
    self.expose = expose
    self.meshGateway = meshGateway
    self.problems = problems
  }
}

public enum ProxyMode: String, Sendable, Hashable {
  case direct
  case transparent
}

/// `TransparentProxy`: fields left nil inherit from service-defaults and proxy-defaults.
public struct TransparentProxyConfig: Sendable, Equatable, Hashable {
  public var outboundListenerPort: Int?
  public var dialedDirectly: Bool?

  public init(outboundListenerPort: Int? = nil, dialedDirectly: Bool? = nil) {
    self.outboundListenerPort = outboundListenerPort
    self.dialedDirectly = dialedDirectly
  }

  /// Fills what this one leaves unset from `fallback`.
  public func inheriting(_ fallback: Self) -> Self {
    Self(
      outboundListenerPort: outboundListenerPort ?? fallback.outboundListenerPort,
      dialedDirectly: dialedDirectly ?? fallback.dialedDirectly)
  }
}

/// `Expose`: paths served by the sidecar without mTLS (health checks, metrics).
public struct ExposeConfig: Sendable, Equatable, Hashable {
  public var checks: Bool
  public var paths: [ExposePath]

  public init(checks: Bool = false, paths: [ExposePath] = []) {
    self.checks = checks
    self.paths = paths
  }

  public var isEmpty: Bool { !checks && paths.isEmpty }
}

public struct ExposePath: Sendable, Equatable, Hashable {
  public var path: String
  public var localPathPort: Int
  public var listenerPort: Int
  /// `http` or `http2`.
  public var `protocol`: String

  public init(path: String, localPathPort: Int, listenerPort: Int, protocol: String = "http") {
    self.path = path
    self.localPathPort = localPathPort
    self.listenerPort = listenerPort
    self.protocol = `protocol`
  }
}

/// An upstream a sidecar declares: where the local application connects to reach a service.
public struct Upstream: Sendable, Equatable, Hashable {
  public var destinationName: String
  /// `service` or `prepared_query`.
  public var destinationType: String
  /// "" means the proxy's own datacenter.
  public var datacenter: String
  public var localBindAddress: String
  /// nil in transparent-proxy mode, where an upstream may have no listener of its own.
  public var localBindPort: Int?
  /// The upstream's `Config` (`protocol`, `connect_timeout_ms`, `limits`, `passive_health_check`).
  public var config: JSONValue
  /// `MeshGateway.Mode` (nil: the proxy's, service-defaults', proxy-defaults', else none).
  public var meshGateway: MeshGatewayMode?

  public init(
    destinationName: String, destinationType: String = "service", datacenter: String = "",
    localBindAddress: String = "127.0.0.1", localBindPort: Int?, config: JSONValue = .null,
    meshGateway: MeshGatewayMode? = nil
  ) {
    self.destinationName = destinationName
    self.destinationType = destinationType
    self.datacenter = datacenter
    self.localBindAddress = localBindAddress
    self.localBindPort = localBindPort
    self.config = config
    self.meshGateway = meshGateway
  }
}
