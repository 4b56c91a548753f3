/// The config entries lambda-xds reads, as `PUT /v1/config` bodies or `/v1/config` answers.
public enum ConfigEntry: Sendable, Equatable {
  case serviceDefaults(ServiceDefaults)
  /// `tls`: per linked service, the TLS the gateway originates to it (entries with a `CAFile`).
  case terminatingGateway(name: String, services: [String], tls: [String: OriginationTLS])
  case proxyDefaults(ProxyDefaults)
  case serviceIntentions(ServiceIntentions)
  case mesh(MeshConfig)
  case serviceSplitter(ServiceSplitter)
  /// Kinds lambda-xds does not use (kept so a catalog file may hold them).
  case other(kind: String, name: String)

  public init(_ body: JSONValue) throws(CatalogError) {
    guard let kind = body["Kind"]?.string, let name = body["Name"]?.string, !name.isEmpty else {
      throw CatalogError("a config entry needs Kind and Name")
    }
    try CatalogLimits.check(name, "config entry \(kind): the Name")
    switch kind {
    case "service-defaults":
      self = .serviceDefaults(try ServiceDefaults(body, name: name))
    case "terminating-gateway":
      var tls: [String: OriginationTLS] = [:]
      let services = try (body["Services"]?.array ?? []).map { service throws(CatalogError) in
        guard let linked = service["Name"]?.string, !linked.isEmpty else {
          throw CatalogError("terminating-gateway \(name): a linked service has no Name")
        }
        if let origination = OriginationTLS(service) { tls[linked] = origination }
        return linked
      }
      self = .terminatingGateway(name: name, services: services, tls: tls)
    case "proxy-defaults":
      self = .proxyDefaults(try ProxyDefaults(body))
    case "service-intentions":
      self = .serviceIntentions(ServiceIntentions(body, destination: name))
    case "mesh":
      self = .mesh(MeshConfig(body))
    case "service-splitter":
      self = .serviceSplitter(ServiceSplitter(body, name: name))
    default:
      self = .other(kind: kind, name: name)
    }
  }
}

/// A service-defaults entry as read; Lambda settings are interpreted by ``LambdaRegistration``.
public struct ServiceDefaults: Sendable, Equatable {
  public var name: String
  /// Lower-cased; "" when unset.
  public var `protocol`: String
  public var meta: JSONValue
  public var envoyExtensions: [JSONValue]
  public var mode: ProxyMode?
  public var transparentProxy: TransparentProxyConfig
  public var expose: ExposeConfig
  /// `UpstreamConfig.Defaults`: the config of every upstream of this service's proxies.
  public var upstreamDefaults: JSONValue
  /// `UpstreamConfig.Overrides`, by upstream name.
  public var upstreamOverrides: [String: JSONValue]
  /// The entry's proxy settings as proxy `Config` keys (`LocalConnectTimeoutMs` becomes
  /// `local_connect_timeout_ms`, ...), the way Consul's agent merges them.
  public var proxyConfig: JSONValue
  /// `MeshGateway.Mode` for this service's proxies' upstreams in other datacenters.
  public var meshGateway: MeshGatewayMode?

  public init(
    name: String, protocol: String, meta: JSONValue = .null, envoyExtensions: [JSONValue] = [],
    mode: ProxyMode? = nil, transparentProxy: TransparentProxyConfig = .init(), expose: ExposeConfig = .init(),
    upstreamDefaults: JSONValue = .null, upstreamOverrides: [String: JSONValue] = [:], proxyConfig: JSONValue = .null,
    meshGateway: MeshGatewayMode? = nil
  ) {
    self.name = name
    self.protocol = `protocol`
    self.meta = meta
    self.envoyExtensions = envoyExtensions
    self.mode = mode
    self.transparentProxy = transparentProxy
    self.expose = expose
    self.upstreamDefaults = upstreamDefaults
    self.upstreamOverrides = upstreamOverrides
    self.proxyConfig = proxyConfig
    self.meshGateway = meshGateway
  }

  /// service-defaults fields that are proxy `Config` keys.
  static let proxyConfigKeys = [
    ("LocalConnectTimeoutMs", "local_connect_timeout_ms"), ("LocalRequestTimeoutMs", "local_request_timeout_ms"),
    ("MaxInboundConnections", "max_inbound_connections"), ("BalanceInboundConnections", "balance_inbound_connections"),
  ]

  init(_ body: JSONValue, name: String) throws(CatalogError) {
    let what = "service-defaults \(name)"
    var overrides: [String: JSONValue] = [:]
    for override in body["UpstreamConfig"]?["Overrides"]?.array ?? [] {
      guard let upstream = override["Name"]?.string, !upstream.isEmpty else {
        throw CatalogError("\(what): an UpstreamConfig override has no Name")
      }
      overrides[upstream] = override.upstreamConfigKeys
    }
    var config: [String: JSONValue] = [:]
    let protocolText = (body["Protocol"]?.string ?? "").lowercased()
    if !protocolText.isEmpty { config["protocol"] = .string(protocolText) }
    for (key, configKey) in Self.proxyConfigKeys {
      if let value = body[key], !value.isNull, value != .number(0), value != .string("") { config[configKey] = value }
    }
    self.init(
      name: name, protocol: protocolText, meta: body["Meta"] ?? .null,
      envoyExtensions: body["EnvoyExtensions"]?.array ?? [], mode: try ProxyMode(body["Mode"], what),
      transparentProxy: try TransparentProxyConfig(body["TransparentProxy"], what),
      expose: try ExposeConfig(body["Expose"], what),
      upstreamDefaults: body["UpstreamConfig"]?["Defaults"]?.upstreamConfigKeys ?? .null,
      upstreamOverrides: overrides, proxyConfig: config.isEmpty ? .null : .object(config),
      meshGateway: try MeshGatewayMode(body["MeshGateway"], what))
  }
}

/// The `proxy-defaults` entry (`global`): defaults for every proxy.
public struct ProxyDefaults: Sendable, Equatable {
  public var config: JSONValue
  public var mode: ProxyMode?
  public var transparentProxy: TransparentProxyConfig
  public var expose: ExposeConfig
  public var meshGateway: MeshGatewayMode?

  public init(
    config: JSONValue = .null, mode: ProxyMode? = nil, transparentProxy: TransparentProxyConfig = .init(),
    expose: ExposeConfig = .init(), meshGateway: MeshGatewayMode? = nil
  ) {
    self.config = config
    self.mode = mode
    self.transparentProxy = transparentProxy
    self.expose = expose
    self.meshGateway = meshGateway
  }

  /// `Config.protocol`, lower-cased; "" when unset.
  public var `protocol`: String { (config["protocol"]?.string ?? "").lowercased() }

  init(_ body: JSONValue) throws(CatalogError) {
    let what = "proxy-defaults"
    if let config = body["Config"], !config.isNull, config.object == nil {
      throw CatalogError("\(what): Config must be an object")
    }
    self.init(
      config: body["Config"] ?? .null, mode: try ProxyMode(body["Mode"], what),
      transparentProxy: try TransparentProxyConfig(body["TransparentProxy"], what),
      expose: try ExposeConfig(body["Expose"], what), meshGateway: try MeshGatewayMode(body["MeshGateway"], what))
  }
}

/// The `mesh` entry: mesh-wide settings lambda-xds applies.
public struct MeshConfig: Sendable, Equatable {
  /// `TransparentProxy.MeshDestinationsOnly`: no passthrough to destinations outside the mesh.
  public var meshDestinationsOnly: Bool
  /// `HTTP.SanitizeXForwardedClientCert`: do not forward the caller's certificate to the app.
  public var sanitizeXForwardedClientCert: Bool

  public init(meshDestinationsOnly: Bool = false, sanitizeXForwardedClientCert: Bool = false) {
    self.meshDestinationsOnly = meshDestinationsOnly
    self.sanitizeXForwardedClientCert = sanitizeXForwardedClientCert
  }

  init(_ body: JSONValue) {
    self.init(
      meshDestinationsOnly: body["TransparentProxy"]?["MeshDestinationsOnly"]?.bool ?? false,
      sanitizeXForwardedClientCert: body["HTTP"]?["SanitizeXForwardedClientCert"]?.bool ?? false)
  }
}

extension ProxyMode {
  /// `Mode`: "" or absent inherits.
  init?(_ value: JSONValue?, _ what: String) throws(CatalogError) {
    guard let value, !value.isNull, value != .string("") else { return nil }
    guard let text = value.string, let mode = ProxyMode(rawValue: text.lowercased()) else {
      throw CatalogError("\(what): Mode must be \"direct\" or \"transparent\"")
    }
    self = mode
  }
}

extension TransparentProxyConfig {
  init(_ value: JSONValue?, _ what: String) throws(CatalogError) {
    self.init()
    guard let value, !value.isNull else { return }
    guard value.object != nil else { throw CatalogError("\(what): TransparentProxy must be an object") }
    if let port = value["OutboundListenerPort"], !port.isNull, port != .number(0) {
      guard let number = port.weakInt, (1...65535).contains(number) else {
        throw CatalogError("\(what): TransparentProxy.OutboundListenerPort must be a port number")
      }
      outboundListenerPort = number
    }
    dialedDirectly = value["DialedDirectly"]?.weakBool
  }
}

extension ExposeConfig {
  init(_ value: JSONValue?, _ what: String) throws(CatalogError) {
    self.init()
    guard let value, !value.isNull else { return }
    guard value.object != nil else { throw CatalogError("\(what): Expose must be an object") }
    checks = value["Checks"]?.weakBool ?? false
    for entry in value["Paths"]?.array ?? [] {
      guard let path = entry["Path"]?.string, path.hasPrefix("/") else {
        throw CatalogError("\(what): an Expose path needs a Path starting with /")
      }
      guard let local = entry["LocalPathPort"]?.weakInt, (1...65535).contains(local),
        let listener = entry["ListenerPort"]?.weakInt, (1...65535).contains(listener)
      else { throw CatalogError("\(what): Expose path \(path) needs LocalPathPort and ListenerPort") }
      let proto = (entry["Protocol"]?.string ?? "http").lowercased()
      guard proto == "http" || proto == "http2" else {
        throw CatalogError("\(what): Expose path \(path): Protocol must be http or http2")
      }
      paths.append(ExposePath(path: path, localPathPort: local, listenerPort: listener, protocol: proto))
    }
  }
}

extension JSONValue {
  /// An `UpstreamConfig` entry's fields as upstream `Config` keys (`ConnectTimeoutMs` becomes
  /// `connect_timeout_ms`, ...), the way Consul merges them. Nested keys stay as written: every
  /// lookup ignores case and underscores.
  var upstreamConfigKeys: JSONValue {
    var config: [String: JSONValue] = [:]
    for (key, configKey) in [
      ("Protocol", "protocol"), ("ConnectTimeoutMs", "connect_timeout_ms"), ("Limits", "limits"),
      ("PassiveHealthCheck", "passive_health_check"), ("BalanceOutboundConnections", "balance_outbound_connections"),
    ] {
      if let value = self[key], !value.isNull, value != .string(""), value != .number(0) {
        config[configKey] = key == "Protocol" ? .string((value.string ?? "").lowercased()) : value
      }
    }
    return config.isEmpty ? .null : .object(config)
  }
}

/// TLS a terminating gateway originates to a linked service (the entry's `CAFile`, `CertFile`,
/// `KeyFile`, `SNI`). The files are read by Envoy on the gateway's host, as in Consul.
public struct OriginationTLS: Sendable, Hashable {
  public var caFile: String
  public var certFile: String?
  public var keyFile: String?
  public var sni: String?
  /// What ``CatalogSnapshot/inspectGatewayFiles()`` found wrong with the files on this host.
  public var fileErrors: [String] = []
  public var fileWarnings: [String] = []

  public init(caFile: String, certFile: String? = nil, keyFile: String? = nil, sni: String? = nil) {
    self.caFile = caFile
    self.certFile = certFile
    self.keyFile = keyFile
    self.sni = sni
  }

  /// nil without a `CAFile` (Consul originates TLS only with one).
  init?(_ service: JSONValue) {
    func text(_ key: String) -> String? { service[key]?.string.flatMap { $0.isEmpty ? nil : $0 } }
    guard let ca = text("CAFile") else { return nil }
    self.init(caFile: ca, certFile: text("CertFile"), keyFile: text("KeyFile"), sni: text("SNI"))
  }
}
