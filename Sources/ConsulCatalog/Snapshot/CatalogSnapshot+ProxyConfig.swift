/// A sidecar's settings with central config applied, as Consul's agent resolves them
/// (`agent/configentry/resolve.go`, `merge_service_config.go`): proxy-defaults first, the
/// destination service's service-defaults over them, the registration's own values over both.
public struct ResolvedProxyConfig: Sendable, Hashable {
  /// The inbound protocol: `tcp`, `http`, `http2` or `grpc` (or whatever was written, lower-cased).
  public var `protocol`: String
  public var mode: ProxyMode
  /// With Consul's defaults applied (outbound port 15001).
  public var outboundListenerPort: Int
  public var dialedDirectly: Bool
  /// The merged `Config` map.
  public var config: JSONValue
  public var expose: ExposeConfig
}

extension CatalogSnapshot {
  /// Consul's default transparent-proxy outbound port (`sdk/iptables`).
  public static let defaultOutboundListenerPort = 15001

  /// A service's protocol: its service-defaults `Protocol`, else proxy-defaults
  /// `Config.protocol`, else `tcp`.
  public func serviceProtocol(_ service: String) -> String {
    let own = serviceDefaults[service]?.protocol ?? ""
    if !own.isEmpty { return own }
    return proxyDefaults.protocol.isEmpty ? "tcp" : proxyDefaults.protocol
  }

  public func resolved(_ proxy: ProxyConfig) -> ResolvedProxyConfig {
    let defaults = serviceDefaults[proxy.destinationServiceName]
    let config = proxyDefaults.config.overlaid(by: defaults?.proxyConfig ?? .null).overlaid(by: proxy.config)
    let transparent = proxy.transparentProxy
      .inheriting(defaults?.transparentProxy ?? .init())
      .inheriting(proxyDefaults.transparentProxy)
    var expose = proxy.expose
    for inherited in [defaults?.expose, proxyDefaults.expose].compactMap({ $0 }) {
      expose.checks = expose.checks || inherited.checks
      let paths = Set(expose.paths.map(\.path))
      expose.paths += inherited.paths.filter { !paths.contains($0.path) }
    }
    return ResolvedProxyConfig(
      protocol: (config["protocol"]?.string ?? "").lowercased().nonEmpty ?? "tcp",
      mode: proxy.mode ?? defaults?.mode ?? proxyDefaults.mode ?? .direct,
      outboundListenerPort: transparent.outboundListenerPort ?? Self.defaultOutboundListenerPort,
      dialedDirectly: transparent.dialedDirectly ?? false,
      config: config, expose: expose)
  }

  /// An upstream's `Config` with central config applied: the calling service's service-defaults
  /// `UpstreamConfig.Defaults`, then its `Overrides` for this upstream, then the upstream's own;
  /// `protocol` falls back to the destination's protocol.
  public func resolvedConfig(of upstream: Upstream, caller: String) -> JSONValue {
    let defaults = serviceDefaults[caller]
    var config = (defaults?.upstreamDefaults ?? .null)
      .overlaid(by: defaults?.upstreamOverrides[upstream.destinationName] ?? .null)
      .overlaid(by: upstream.config)
    if (config["protocol"]?.string ?? "").isEmpty {
      config = config.overlaid(by: .object(["protocol": .string(serviceProtocol(upstream.destinationName))]))
    }
    return config
  }

  /// How a proxy reaches an upstream in another datacenter: the upstream's mode, else the
  /// registration's, the proxy's service-defaults', proxy-defaults', else `none` (as Consul).
  public func meshGatewayMode(of upstream: Upstream, proxy: ProxyConfig) -> MeshGatewayMode {
    upstream.meshGateway ?? proxy.meshGateway ?? serviceDefaults[proxy.destinationServiceName]?.meshGateway
      ?? proxyDefaults.meshGateway ?? .none
  }
}

extension String {
  var nonEmpty: String? { isEmpty ? nil : self }
}
