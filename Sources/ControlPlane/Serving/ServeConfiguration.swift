public import ADSServer
public import ConsulWatch
public import Foundation
public import Translation

/// Everything `serve` is told on its command line, as plain values, so the server can be built
/// and run in-process (tests) exactly as the executable runs it.
public struct ServeConfiguration: Sendable {
  /// Who may open an xDS stream for a proxy.
  public enum Authorization: Sendable, Equatable {
    case none
    /// The stream's x-consul-token must grant service:write on its proxy's service (asked of Consul).
    case consulACL
    /// Catalog-file mode: a JSON file of token -> services.
    case tokenFile(String)
  }

  public var source: CatalogSource
  public var xdsHost = "127.0.0.1"
  public var xdsPort = 18000
  public var adminHost = "127.0.0.1"
  public var adminPort = 19100
  public var xdsTLS: XDSServerTLS?
  public var authorization = Authorization.none
  public var tokenRecheck: Duration = .seconds(60)
  public var maxRequestBytes = 64 * 1024 * 1024
  /// The xDS listener's accept queue (a storm of reconnecting proxies must not overflow it).
  public var backlog = XDSServer.defaultBacklog
  public var certificateWait: TimeInterval = 10
  public var debounce: Duration = .zero
  public var translation = TranslationOptions()
  /// Catalog-file mode: where the dev CA and its leaves are kept.
  public var dataDirectory: URL?
  public var leafLifetime: TimeInterval = 72 * 3600
  /// Consul mode: register this replica with the agent (health check on `/readyz`).
  public var registerInConsul = false
  /// Stream limits and the unknown-node grace.
  public var limits = StreamLimits()
  /// The status board forgets a proxy this long after its last stream ended.
  public var forgetAfter: Duration = .seconds(600)
  /// On SIGTERM or SIGINT: how long open xDS streams may stay before the server exits.
  public var drainTime: Duration = .seconds(5)
  /// Not ready once Consul has been unreachable this long (nil: ready through any outage).
  public var readyMaxStaleness: Duration? = .seconds(300)

  public init(source: CatalogSource) {
    self.source = source
  }

  /// The Consul connection the ACL check uses (Consul mode only).
  var consulConfig: ConsulConfig? {
    if case .consul(let config, _) = source { return config }
    return nil
  }
}
