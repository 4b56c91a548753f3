/// `MeshGateway.Mode`: how a sidecar reaches an upstream in another datacenter. Set on the
/// upstream, the proxy registration, service-defaults or proxy-defaults (the first set wins).
public enum MeshGatewayMode: String, Sendable, Hashable {
  /// Straight to the remote instances (their WAN addresses).
  case none
  /// Through this datacenter's mesh gateways.
  case local
  /// Through the remote datacenter's mesh gateways.
  case remote

  /// `{"Mode": ...}`: nil when unset or "" (inherit); an unknown mode is an error.
  init?(_ value: JSONValue?, _ what: String) throws(CatalogError) {
    guard let value, !value.isNull else { return nil }
    guard value.object != nil else { throw CatalogError("\(what): MeshGateway must be an object") }
    guard let mode = value["Mode"], !mode.isNull, mode != .string("") else { return nil }
    guard let text = mode.string, let parsed = MeshGatewayMode(rawValue: text.lowercased()) else {
      throw CatalogError("\(what): MeshGateway.Mode must be \"none\", \"local\" or \"remote\"")
    }
    self = parsed
  }
}

extension ServiceInstance {
  /// Where another datacenter dials this instance: its `wan` tagged address, else its address
  /// (Consul's `BestAddress(true)`).
  public var wanAddress: TaggedAddress {
    if let wan = taggedAddresses["wan"], !wan.address.isEmpty { return TaggedAddress(address: wan.address, port: wan.port > 0 ? wan.port : port) }
    return TaggedAddress(address: address, port: port)
  }

  /// Whether it carries a WAN address of its own.
  public var hasWANAddress: Bool { !(taggedAddresses["wan"]?.address.isEmpty ?? true) }

  /// Where this datacenter dials it: its `lan` tagged address, else its address.
  public var lanAddress: TaggedAddress {
    if let lan = taggedAddresses["lan"], !lan.address.isEmpty { return TaggedAddress(address: lan.address, port: lan.port > 0 ? lan.port : port) }
    return TaggedAddress(address: address, port: port)
  }
}
