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
  }

  public var id: String
  public var name: String
  public var kind: Kind
  public var node: String
  /// The address to dial: the service address, else the node's.
  public var address: String
  public var port: Int
  public var meta: [String: String]
  /// For connect-proxy instances.
  public var proxy: ProxyConfig?
  /// False when any of its checks (service or node) is not passing.
  public var healthy: Bool

  public init(
    id: String, name: String, kind: Kind = .typical, node: String = "", address: String = "",
    port: Int = 0, meta: [String: String] = [:], proxy: ProxyConfig? = nil, healthy: Bool = true
  ) {
    self.id = id
    self.name = name
    self.kind = kind
    self.node = node
    self.address = address
    self.port = port
    self.meta = meta
    self.proxy = proxy
    self.healthy = healthy
  }
}

public struct ProxyConfig: Sendable, Equatable, Hashable {
  public var destinationServiceName: String
  public var destinationServiceID: String
  public var upstreams: [Upstream]

  public init(destinationServiceName: String, destinationServiceID: String = "", upstreams: [Upstream] = []) {
    self.destinationServiceName = destinationServiceName
    self.destinationServiceID = destinationServiceID
    self.upstreams = upstreams
  }
}

/// An upstream a sidecar declares: where the local application connects to reach a service.
public struct Upstream: Sendable, Equatable, Hashable {
  public var destinationName: String
  public var destinationType: String
  public var datacenter: String
  public var localBindAddress: String
  public var localBindPort: Int

  public init(
    destinationName: String, destinationType: String = "service", datacenter: String = "",
    localBindAddress: String = "127.0.0.1", localBindPort: Int
  ) {
    self.destinationName = destinationName
    self.destinationType = destinationType
    self.datacenter = datacenter
    self.localBindAddress = localBindAddress
    self.localBindPort = localBindPort
  }
}
