/// Why a catalog object could not be read; names the object so one bad entry is easy to find.
public struct CatalogError: Error, Hashable, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

extension ServiceInstance {
  /// Reads a `PUT /v1/catalog/register` body (keys matched case-insensitively, as Consul does).
  ///
  /// Only what identifies the instance is required; a proxy field that cannot be used is
  /// recorded in ``ProxyConfig/problems`` so the rest of that proxy still works.
  public init(registration body: JSONValue) throws(CatalogError) {
    guard body.object != nil else { throw CatalogError("a registration must be an object") }
    guard let node = body["Node"]?.string, !node.isEmpty else {
      throw CatalogError("a registration needs a Node")
    }
    try CatalogLimits.check(node, "the Node name")
    guard let service = body["Service"], service.object != nil else {
      throw CatalogError("registration on node \(node) has no Service")
    }
    guard let name = service["Service"]?.string, !name.isEmpty else {
      throw CatalogError("registration on node \(node): Service.Service (the name) is required")
    }
    try CatalogLimits.check(name, "registration on node \(node): the service name")
    if let id = service["ID"]?.string { try CatalogLimits.check(id, "service \(name): the ID") }
    let kindText = service["Kind"]?.string ?? ""
    guard let kind = Kind(rawValue: kindText) else {
      throw CatalogError("service \(name): unknown Kind \"\(kindText)\"")
    }
    let checks = (body["Checks"]?.array ?? []) + (body["Check"].map { [$0] } ?? [])
    let serviceAddress = service["Address"]?.string ?? ""
    var proxy = kind == .connectProxy ? try ProxyConfig(service["Proxy"], proxyName: name) : nil
    let port = service["Port"]?.weakInt ?? 0
    if let value = service["Port"], !value.isNull, value != .number(0), !(1...65535).contains(port) {
      proxy?.problems.append("Port \(value.text) is not a port number")
    }
    let weights = service["Weights"]
    self.init(
      id: service["ID"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? name,
      name: name, kind: kind, node: node,
      address: serviceAddress.isEmpty ? body["Address"]?.string ?? "" : serviceAddress,
      serviceAddress: serviceAddress, port: (1...65535).contains(port) ? port : 0,
      taggedAddresses: Self.taggedAddresses(service["TaggedAddresses"]),
      meta: try Self.stringMap(service["Meta"], "service \(name) Meta"),
      proxy: proxy,
      connectNative: service["Connect"]?["Native"]?.weakBool ?? false,
      health: Health(statuses: checks.map { $0["Status"]?.string ?? "critical" }),
      weights: Weights(passing: weights?["Passing"]?.weakInt ?? 1, warning: weights?["Warning"]?.weakInt ?? 1),
      checks: checks.compactMap(HealthCheck.init))
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

  /// `{"lan": {"Address": "10.0.0.1", "Port": 8080}, "consul-virtual": {"Address": "240.0.0.1"}}`;
  /// entries that are not objects with an address are skipped.
  static func taggedAddresses(_ value: JSONValue?) -> [String: TaggedAddress] {
    var result: [String: TaggedAddress] = [:]
    for (tag, entry) in value?.object ?? [:] {
      guard let address = entry["Address"]?.string, !address.isEmpty, address.utf8.count <= CatalogLimits.maxNameLength
      else { continue }
      result[tag] = TaggedAddress(address: address, port: entry["Port"]?.weakInt ?? 0)
    }
    return result
  }
}

extension HealthCheck {
  /// An HTTP or gRPC check of a registration; nil for other kinds.
  init?(_ body: JSONValue) {
    let definition = body["Definition"]
    let http = (definition?["HTTP"] ?? body["HTTP"])?.string.flatMap { $0.isEmpty ? nil : $0 }
    let grpc = (definition?["GRPC"] ?? body["GRPC"])?.string.flatMap { $0.isEmpty ? nil : $0 }
    guard http != nil || grpc != nil else { return nil }
    self.init(
      id: body["CheckID"]?.string ?? body["Name"]?.string ?? "", http: http, grpc: grpc,
      exposedPort: body["ExposedPort"]?.weakInt ?? 0)
  }
}

extension ProxyConfig {
  init(_ body: JSONValue?, proxyName: String) throws(CatalogError) {
    guard let body, let destination = body["DestinationServiceName"]?.string, !destination.isEmpty
    else {
      throw CatalogError("connect-proxy \(proxyName): Proxy.DestinationServiceName is required")
    }
    try CatalogLimits.check(destination, "connect-proxy \(proxyName): Proxy.DestinationServiceName")
    var problems: [String] = []
    var upstreams: [Upstream] = []
    for (index, entry) in (body["Upstreams"]?.array ?? []).enumerated() {
      guard let name = entry["DestinationName"]?.string, !name.isEmpty else {
        problems.append("upstream #\(index + 1) has no DestinationName; ignored")
        continue
      }
      guard name.utf8.count <= CatalogLimits.maxNameLength else {
        problems.append("upstream #\(index + 1): its DestinationName is longer than \(CatalogLimits.maxNameLength) bytes; ignored")
        continue
      }
      var port: Int?
      if let value = entry["LocalBindPort"], !value.isNull, value != .number(0) {
        port = value.weakInt.flatMap { (1...65535).contains($0) ? $0 : nil }
        if port == nil { problems.append("upstream \(name): LocalBindPort \(value.text) is not a port number; no listener") }
      }
      if let config = entry["Config"], !config.isNull, config.object == nil {
        problems.append("upstream \(name): Config must be an object; ignored")
      }
      let bind = entry["LocalBindAddress"]?.string ?? ""
      var meshGateway: MeshGatewayMode?
      do { meshGateway = try MeshGatewayMode(entry["MeshGateway"], "upstream \(name)") } catch { problems.append("\(error)") }
      upstreams.append(
        Upstream(
          destinationName: name, destinationType: entry["DestinationType"]?.string ?? "service",
          datacenter: entry["Datacenter"]?.string ?? "", localBindAddress: bind.isEmpty ? "127.0.0.1" : bind,
          localBindPort: port, config: entry["Config"]?.object.map { JSONValue.object($0) } ?? .null,
          meshGateway: meshGateway))
    }
    var localPort: Int?
    if let value = body["LocalServicePort"], !value.isNull {
      localPort = value.weakInt.flatMap { (1...65535).contains($0) ? $0 : nil }
      if localPort == nil { problems.append("LocalServicePort \(value.text) is not a port number") }
    }
    let what = "connect-proxy \(proxyName)"
    func lenient<T>(_ read: () throws(CatalogError) -> T, _ fallback: T) -> T {
      do { return try read() } catch {
        problems.append("\(error)".replacingPrefix(what + ": ", with: ""))
        return fallback
      }
    }
    var config = body["Config"] ?? .null
    if !config.isNull && config.object == nil {
      problems.append("Config must be an object; ignored")
      config = .null
    }
    let localAddress = body["LocalServiceAddress"]?.string ?? ""
    self.init(
      destinationServiceName: destination, destinationServiceID: body["DestinationServiceID"]?.string ?? "",
      localServiceAddress: localAddress.isEmpty ? "127.0.0.1" : localAddress, localServicePort: localPort,
      mode: lenient({ () throws(CatalogError) in try ProxyMode(body["Mode"], what) }, nil),
      transparentProxy: lenient({ () throws(CatalogError) in try TransparentProxyConfig(body["TransparentProxy"], what) }, .init()),
      config: config, upstreams: upstreams,
      expose: lenient({ () throws(CatalogError) in try ExposeConfig(body["Expose"], what) }, .init()),
      meshGateway: lenient({ () throws(CatalogError) in try MeshGatewayMode(body["MeshGateway"], what) }, nil),
      problems: problems)
  }
}

extension JSONValue {
  /// The value as it would be written in a message: strings bare, the rest as JSON-ish text.
  var text: String {
    switch self {
    case .string(let value): "\"\(value)\""
    case .number(let value): value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : "\(value)"
    case .bool(let value): "\(value)"
    case .null: "null"
    case .array: "(a list)"
    case .object: "(an object)"
    }
  }
}

extension String {
  func replacingPrefix(_ prefix: String, with replacement: String) -> String {
    hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
  }
}
