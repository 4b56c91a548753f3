/// Why a catalog object could not be read; names the object so one bad entry is easy to find.
public struct CatalogError: Error, Hashable, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

extension ServiceInstance {
  /// Reads a `PUT /v1/catalog/register` body (keys matched case-insensitively, as Consul does).
  public init(registration body: JSONValue) throws(CatalogError) {
    guard body.object != nil else { throw CatalogError("a registration must be an object") }
    guard let node = body["Node"]?.string, !node.isEmpty else {
      throw CatalogError("a registration needs a Node")
    }
    guard let service = body["Service"], service.object != nil else {
      throw CatalogError("registration on node \(node) has no Service")
    }
    guard let name = service["Service"]?.string, !name.isEmpty else {
      throw CatalogError("registration on node \(node): Service.Service (the name) is required")
    }
    let kindText = service["Kind"]?.string ?? ""
    guard let kind = Kind(rawValue: kindText) else {
      throw CatalogError("service \(name): unknown Kind \"\(kindText)\"")
    }
    let checks = (body["Checks"]?.array ?? []) + (body["Check"].map { [$0] } ?? [])
    let serviceAddress = service["Address"]?.string ?? ""
    self.init(
      id: service["ID"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? name,
      name: name, kind: kind, node: node,
      address: serviceAddress.isEmpty ? body["Address"]?.string ?? "" : serviceAddress,
      port: service["Port"]?.int ?? 0,
      meta: try Self.stringMap(service["Meta"], "service \(name) Meta"),
      proxy: kind == .connectProxy ? try ProxyConfig(service["Proxy"], proxyName: name) : nil,
      healthy: checks.allSatisfy { ($0["Status"]?.string ?? "critical") == "passing" })
  }

  static func stringMap(_ value: JSONValue?, _ what: String) throws(CatalogError) -> [String: String] {
    guard let value, !value.isNull else { return [:] }
    guard let object = value.object else { throw CatalogError("\(what) must be an object") }
    var result: [String: String] = [:]
    for (key, entry) in object {
      guard let text = entry.string else {
        throw CatalogError("\(what): \"\(key)\" must be a string, not \(entry.typeName)")
      }
      result[key] = text
    }
    return result
  }
}

extension ProxyConfig {
  init(_ body: JSONValue?, proxyName: String) throws(CatalogError) {
    guard let body, let destination = body["DestinationServiceName"]?.string, !destination.isEmpty
    else {
      throw CatalogError("connect-proxy \(proxyName): Proxy.DestinationServiceName is required")
    }
    var upstreams: [Upstream] = []
    for entry in body["Upstreams"]?.array ?? [] {
      guard let name = entry["DestinationName"]?.string, !name.isEmpty else {
        throw CatalogError("connect-proxy \(proxyName): an upstream has no DestinationName")
      }
      guard let port = entry["LocalBindPort"]?.int, (1...65535).contains(port) else {
        throw CatalogError("connect-proxy \(proxyName): upstream \(name) needs a LocalBindPort")
      }
      let bind = entry["LocalBindAddress"]?.string ?? ""
      upstreams.append(
        Upstream(
          destinationName: name, destinationType: entry["DestinationType"]?.string ?? "service",
          datacenter: entry["Datacenter"]?.string ?? "",
          localBindAddress: bind.isEmpty ? "127.0.0.1" : bind, localBindPort: port))
    }
    self.init(
      destinationServiceName: destination,
      destinationServiceID: body["DestinationServiceID"]?.string ?? "", upstreams: upstreams)
  }
}

/// The config entries lambda-xds reads, as `PUT /v1/config` bodies or `/v1/config` answers.
public enum ConfigEntry: Sendable, Equatable {
  case serviceDefaults(ServiceDefaults)
  case terminatingGateway(name: String, services: [String])
  case proxyDefaults(protocol: String)
  case serviceIntentions(name: String, body: JSONValue)
  /// Kinds lambda-xds does not use (kept so a catalog file may hold them).
  case other(kind: String, name: String)

  public init(_ body: JSONValue) throws(CatalogError) {
    guard let kind = body["Kind"]?.string, let name = body["Name"]?.string, !name.isEmpty else {
      throw CatalogError("a config entry needs Kind and Name")
    }
    switch kind {
    case "service-defaults":
      self = .serviceDefaults(
        ServiceDefaults(
          name: name, protocol: (body["Protocol"]?.string ?? "").lowercased(),
          meta: body["Meta"] ?? .null, envoyExtensions: body["EnvoyExtensions"]?.array ?? []))
    case "terminating-gateway":
      let services = try (body["Services"]?.array ?? []).map { service throws(CatalogError) in
        guard let linked = service["Name"]?.string, !linked.isEmpty else {
          throw CatalogError("terminating-gateway \(name): a linked service has no Name")
        }
        return linked
      }
      self = .terminatingGateway(name: name, services: services)
    case "proxy-defaults":
      self = .proxyDefaults(protocol: (body["Config"]?["protocol"]?.string ?? "").lowercased())
    case "service-intentions":
      // Indexes and hashes change on every write; they are not part of the intentions.
      let stable = body.object!.filter { !["createindex", "modifyindex", "hash"].contains($0.key.lowercased()) }
      self = .serviceIntentions(name: name, body: .object(stable))
    default:
      self = .other(kind: kind, name: name)
    }
  }
}

/// A service-defaults entry as read; Lambda settings are interpreted by ``LambdaRegistration``.
public struct ServiceDefaults: Sendable, Equatable {
  public var name: String
  public var `protocol`: String
  public var meta: JSONValue
  public var envoyExtensions: [JSONValue]

  public init(name: String, protocol: String, meta: JSONValue = .null, envoyExtensions: [JSONValue] = []) {
    self.name = name
    self.protocol = `protocol`
    self.meta = meta
    self.envoyExtensions = envoyExtensions
  }
}
