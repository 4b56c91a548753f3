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

  /// The fields, shared by every copy until one is changed: snapshots hold each instance in
  /// several tables and every edit copies a table, so a copy must cost one reference, not one
  /// per field (and an unchanged instance compares equal by identity).
  private final class Box: Sendable {
    let fields: Fields
    init(_ fields: Fields) { self.fields = fields }
  }

  private struct Fields: Sendable, Hashable {
    var id: String
    var name: String
    var kind: Kind
    var node: String
    var address: String
    var serviceAddress: String
    var port: Int
    var taggedAddresses: [String: TaggedAddress]
    var meta: [String: String]
    var proxy: ProxyConfig?
    var connectNative: Bool
    var health: Health
    var weights: Weights
    var checks: [HealthCheck]
  }

  private var box: Box

  private mutating func update(_ change: (inout Fields) -> Void) {
    var fields = box.fields
    change(&fields)
    box = Box(fields)
  }

  public var id: String {
    get { box.fields.id }
    set { update { $0.id = newValue } }
  }
  public var name: String {
    get { box.fields.name }
    set { update { $0.name = newValue } }
  }
  public var kind: Kind {
    get { box.fields.kind }
    set { update { $0.kind = newValue } }
  }
  public var node: String {
    get { box.fields.node }
    set { update { $0.node = newValue } }
  }
  /// The address to dial: the service address, else the node's.
  public var address: String {
    get { box.fields.address }
    set { update { $0.address = newValue } }
  }
  /// `Service.Address` as registered ("" when unset): where a proxy binds its public listener.
  public var serviceAddress: String {
    get { box.fields.serviceAddress }
    set { update { $0.serviceAddress = newValue } }
  }
  /// 0 when the registration has none.
  public var port: Int {
    get { box.fields.port }
    set { update { $0.port = newValue } }
  }
  /// `Service.TaggedAddresses` (`lan`, `wan`, `consul-virtual`, `virtual`, `consul-virtual:<svc>`).
  public var taggedAddresses: [String: TaggedAddress] {
    get { box.fields.taggedAddresses }
    set { update { $0.taggedAddresses = newValue } }
  }
  public var meta: [String: String] {
    get { box.fields.meta }
    set { update { $0.meta = newValue } }
  }
  /// For connect-proxy instances.
  public var proxy: ProxyConfig? {
    get { box.fields.proxy }
    set { update { $0.proxy = newValue } }
  }
  /// `Connect.Native`: the service speaks mTLS itself and is its own mesh endpoint.
  public var connectNative: Bool {
    get { box.fields.connectNative }
    set { update { $0.connectNative = newValue } }
  }
  public var health: Health {
    get { box.fields.health }
    set { update { $0.health = newValue } }
  }
  public var weights: Weights {
    get { box.fields.weights }
    set { update { $0.weights = newValue } }
  }
  /// HTTP and gRPC checks, for `Expose.Checks`.
  public var checks: [HealthCheck] {
    get { box.fields.checks }
    set { update { $0.checks = newValue } }
  }

  public init(
    id: String, name: String, kind: Kind = .typical, node: String = "", address: String = "",
    serviceAddress: String? = nil, port: Int = 0, taggedAddresses: [String: TaggedAddress] = [:],
    meta: [String: String] = [:], proxy: ProxyConfig? = nil, connectNative: Bool = false,
    health: Health = .passing, weights: Weights = Weights(), checks: [HealthCheck] = []
  ) {
    box = Box(
      Fields(
        id: id, name: name, kind: kind, node: node, address: address, serviceAddress: serviceAddress ?? address,
        port: port, taggedAddresses: taggedAddresses, meta: meta, proxy: proxy, connectNative: connectNative,
        health: health, weights: weights, checks: checks))
  }

  public static func == (lhs: Self, rhs: Self) -> Bool { lhs.box === rhs.box || lhs.box.fields == rhs.box.fields }
  public func hash(into hasher: inout Hasher) { hasher.combine(box.fields) }

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
