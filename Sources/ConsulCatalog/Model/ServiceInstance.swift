/// One service instance in the catalog, with the fields lambda-xds needs. Consul's registration
/// bodies, catalog rows and health entries all map onto it.
public struct ServiceInstance: Sendable, Equatable, Hashable {
  public enum Kind: String, Sendable, Hashable {
    case typical = ""
    case connectProxy = "connect-proxy"
    case terminatingGateway = "terminating-gateway"
    case meshGateway = "mesh-gateway"
    case ingressGateway = "ingress-gateway"
    case apiGateway = "api-gateway"

    /// The kinds lambda-xds configures: sidecars, terminating and mesh gateways.
    public var isConfigured: Bool { self == .connectProxy || self == .terminatingGateway || self == .meshGateway }
  }

  /// The instance's health as Consul's xDS server judges it: critical if any check (node checks
  /// included) is critical, else warning if any warns.
  public enum Health: Int, Sendable, Hashable, Comparable {
    case passing
    case warning
    case critical

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The worst of a list of Consul check statuses; no checks is passing, an unknown status critical.
    public init(statuses: [String]) {
      self = statuses.map { status -> Health in
        switch status {
        case "passing": .passing
        case "warning": .warning
        default: .critical
        }
      }.max() ?? .passing
    }
  }

  /// `Service.Weights`: the load-balancing weight while passing and while warning.
  public struct Weights: Sendable, Hashable {
    public var passing: Int
    public var warning: Int

    public init(passing: Int = 1, warning: Int = 1) {
      self.passing = passing
      self.warning = warning
    }
  }

  public var id: String
  public var name: String
  public var kind: Kind
  public var node: String
  /// The address to dial: the service address, else the node's.
  public var address: String
  /// `Service.Address` as registered ("" when unset): where a proxy binds its public listener.
  public var serviceAddress: String
  /// 0 when the registration has none.
  public var port: Int
  /// `Service.TaggedAddresses` (`lan`, `wan`, `consul-virtual`, `virtual`, `consul-virtual:<svc>`).
  public var taggedAddresses: [String: TaggedAddress]
  public var meta: [String: String]
  /// For connect-proxy instances.
  public var proxy: ProxyConfig?
  /// `Connect.Native`: the service speaks mTLS itself and is its own mesh endpoint.
  public var connectNative: Bool
  public var health: Health
  public var weights: Weights
  /// HTTP and gRPC checks, for `Expose.Checks`.
  public var checks: [HealthCheck]

  public init(
    id: String, name: String, kind: Kind = .typical, node: String = "", address: String = "",
    serviceAddress: String? = nil, port: Int = 0, taggedAddresses: [String: TaggedAddress] = [:],
    meta: [String: String] = [:], proxy: ProxyConfig? = nil, connectNative: Bool = false,
    health: Health = .passing, weights: Weights = Weights(), checks: [HealthCheck] = []
  ) {
    self.id = id
    self.name = name
    self.kind = kind
    self.node = node
    self.address = address
    self.serviceAddress = serviceAddress ?? address
    self.port = port
    self.taggedAddresses = taggedAddresses
    self.meta = meta
    self.proxy = proxy
    self.connectNative = connectNative
    self.health = health
    self.weights = weights
    self.checks = checks
  }

  /// Not critical: Consul's xDS server sends traffic to passing and warning instances.
  public var healthy: Bool { health != .critical }

  /// The virtual IPs transparent proxies match this instance's service by: `consul-virtual`
  /// (assigned by Consul) and `virtual` (e.g. a Kubernetes ClusterIP).
  public var virtualIPs: [String] {
    ["consul-virtual", "virtual"].compactMap { taggedAddresses[$0]?.address }.filter { !$0.isEmpty }
  }
}

/// One entry of `TaggedAddresses`.
public struct TaggedAddress: Sendable, Hashable {
  public var address: String
  public var port: Int

  public init(address: String, port: Int = 0) {
    self.address = address
    self.port = port
  }
}

/// A check lambda-xds can expose through the sidecar (`Expose.Checks`).
public struct HealthCheck: Sendable, Hashable {
  public var id: String
  /// `Definition.HTTP` (a URL) or `Definition.GRPC` (`host:port[/service]`).
  public var http: String?
  public var grpc: String?
  /// The port the agent exposed the check on (`ExposedPort`), 0 when it exposed none.
  public var exposedPort: Int

  public init(id: String, http: String? = nil, grpc: String? = nil, exposedPort: Int = 0) {
    self.id = id
    self.http = http
    self.grpc = grpc
    self.exposedPort = exposedPort
  }
}
