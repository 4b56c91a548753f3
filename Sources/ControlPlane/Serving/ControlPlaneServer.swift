public import ADSServer
import ConsulCatalog
import ConsulWatch
import Foundation
public import Logging
import MeshIdentity
public import ResourceCache
import Translation
public import ServiceLifecycle

/// `serve`, wired: the catalog source feeds the pipeline, the pipeline fills the snapshot cache,
/// the ADS server streams it to proxies (behind the configured authorization), and the admin API
/// shows all of it, with readiness and metrics.
///
/// A service of swift-service-lifecycle: its parts run as one group. On graceful shutdown
/// (SIGTERM or SIGINT in the executable) readiness turns false at once, the xDS server accepts no
/// new streams and gives open ones the drain time, then the rest stop in reverse order (the admin
/// API last, so `/readyz` answers 503 throughout). Cancelling the task stops everything at once.
public struct ControlPlaneServer: Service {
  /// What listens, with the port it got (useful with port 0).
  public enum Listener: Sendable {
    case xds
    case admin
  }

  public let configuration: ServeConfiguration
  public let cache = SnapshotCache()
  public let status: XDSStatusBoard
  public let pipeline: ConfigurationPipeline
  public let metrics = ServerMetrics()
  public let readiness: Readiness
  let consulHealth: ConsulHealth?
  let logger: Logger
  /// Told each listener's port once it listens.
  public var onListening: @Sendable (Listener, Int) -> Void = { _, _ in }

  public init(configuration: ServeConfiguration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
    var makeAuthority: ConfigurationPipeline.AuthorityFactory?
    if case .file = configuration.source {
      makeAuthority = { [directory = configuration.dataDirectory] trustDomain in
        try DevAuthority.loadOrCreate(in: directory, trustDomain: trustDomain, logger: logger)
      }
    }
    let pipeline = ConfigurationPipeline(
      translator: Translator(options: configuration.translation), cache: cache, makeAuthority: makeAuthority,
      leafLifetime: configuration.leafLifetime, leafStore: configuration.dataDirectory,
      certificateWait: configuration.certificateWait, debounce: configuration.debounce, metrics: metrics, logger: logger)
    self.pipeline = pipeline
    status = XDSStatusBoard(metrics: metrics.xds) { node in pipeline.kind(ofProxy: node) }
    let health = configuration.consulConfig.map { _ in ConsulHealth(logger: logger) }
    consulHealth = health
    readiness = Readiness(
      maxStaleness: configuration.readyMaxStaleness, translated: { pipeline.latest != nil },
      unreachableFor: { health?.downFor })
  }

  /// Runs with `onListening` told each port (useful with port 0).
  public func run(onListening: @escaping @Sendable (Listener, Int) -> Void) async throws {
    var server = self
    server.onListening = onListening
    try await server.run()
  }

  public func run() async throws {
    // Consul's agent, for token checks and self-registration (Consul mode).
    let needsAgent = configuration.authorization == .consulACL || configuration.registerInConsul
    let aclClient = try needsAgent
      ? configuration.consulConfig.map { ConsulClient(config: $0, http: try ConsulClient.makeHTTPClient($0), metrics: metrics.consul) }
      : nil
    // Each listener's port, for self-registration.
    let (ports, portFeed) = AsyncStream.makeStream(of: (Listener, Int).self, bufferingPolicy: .bufferingNewest(4))
    let onListening: @Sendable (Listener, Int) -> Void = { [onListening] listener, port in
      portFeed.yield((listener, port))
      onListening(listener, port)
    }
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
    func add(_ name: String, _ body: @escaping @Sendable () async throws -> Void) {
      services.append(.init(service: ClosureService(body), serviceName: name))
    }
    // Graceful shutdown goes from the last service to the first, each once the one after it ended.
    add("memory-trim") { [cache, logger] in
      try await cancelWhenGracefulShutdown { await MemoryTrim.run(watching: cache, logger: logger) }
    }
    add("forget") { [status, configuration] in
      try await cancelWhenGracefulShutdown {
        let period = min(configuration.forgetAfter / 4, .seconds(60))
        while !Task.isCancelled {
          try? await Task.sleep(for: max(period, .milliseconds(100)))
          status.forget(disconnectedBefore: Date().addingTimeInterval(-configuration.forgetAfter.seconds))
        }
      }
    }
    let ads = AggregatedDiscoveryService(
      cache: cache, status: status, logger: logger, authorization: authorization(aclClient),
      limits: configuration.limits, membership: { [pipeline] in pipeline.isProxy($0) })
    let admin = AdminServer(
      host: configuration.adminHost, port: configuration.adminPort,
      routes: AdminRoutes(
        cache: cache, status: status, pipeline: pipeline, readiness: readiness, metrics: metrics,
        openStreams: { ads.admission.openStreams }),
      logger: logger)
    services.append(.init(service: admin.application { [logger, configuration, onListening] port in
      logger.info("admin API listening", metadata: ["address": "\(addressText(configuration.adminHost, port))"])
      onListening(.admin, port)
    }, serviceName: "admin"))
    let feed = CatalogFeed()
    add("pipeline") { [pipeline] in try await cancelWhenGracefulShutdown { await pipeline.run(feed) } }
    add("catalog-source") { [configuration, pipeline, consulHealth, metrics, logger] in
      try await cancelWhenGracefulShutdown {
        try await configuration.source.run(
          into: feed, certificates: { pipeline.submit($0) }, health: consulHealth, metrics: metrics.consul, logger: logger)
      }
    }
    if configuration.registerInConsul, let aclClient {
      let rebalancer = Rebalancer(
        admission: ads.admission, proxies: { [pipeline] in pipeline.latest?.proxies.count ?? 0 }, client: aclClient,
        service: ConsulRegistration.serviceName, logger: logger)
      add("rebalancer") { try await cancelWhenGracefulShutdown { await rebalancer.run() } }
    }
    var server = XDSServer(
      host: configuration.xdsHost, port: configuration.xdsPort, service: ads, maxRequestBytes: configuration.maxRequestBytes, backlog: configuration.backlog)
    server.tls = configuration.xdsTLS
    let drain = XDSServer.Drain(time: configuration.drainTime) { [logger, configuration] in
      guard (try? await gracefulShutdown()) != nil else { return }
      logger.info("draining: no new xDS streams; open ones end within the drain time", metadata: ["seconds": "\(configuration.drainTime.components.seconds)"])
    }
    add("xds") { [server, readiness, logger, configuration, onListening] in
      try await server.run(drain: drain) { port in
        readiness.listening()
        logger.info("xDS server listening", metadata: ["address": "\(addressText(configuration.xdsHost, port))"])
        onListening(.xds, port)
      }
    }
    if configuration.registerInConsul, let aclClient {
      add("consul-registration") { [configuration, logger] in
        var xds: Int?
        var admin: Int?
        for await (listener, port) in ports {
          if listener == .xds { xds = port } else { admin = port }
          if xds != nil && admin != nil { break }
        }
        guard let xds, let admin else { return }
        let registration = ConsulRegistration(
          address: configuration.xdsHost, port: xds,
          readyURL: "http://\(addressText(Self.reachable(configuration.adminHost), admin))/readyz")
        try await registration.run(client: aclClient, logger: logger)
      }
    }
    // Shut down first: readiness turns false the moment a graceful shutdown begins.
    add("readiness") { [readiness] in
      try? await gracefulShutdown()
      readiness.draining()
    }
    var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
    // A part that does not stop cannot hold the exit back for long after the drain.
    groupConfiguration.maximumGracefulShutdownDuration = configuration.drainTime + .seconds(10)
    let group = ServiceGroup(configuration: groupConfiguration)
    do {
      try await group.run()
    } catch {
      try? await aclClient?.shutdown()
      throw error
    }
    try? await aclClient?.shutdown()  // after every part that used it stopped
  }

  /// A host others can reach a listener on: the loopback address for a wildcard one.
  static func reachable(_ host: String) -> String {
    switch host {
    case "0.0.0.0": "127.0.0.1"
    case "::": "::1"
    default: host
    }
  }

  /// Token checks and the client-certificate binding, as configured.
  private func authorization(_ aclClient: ConsulClient?) -> StreamAuthorization? {
    let recheck = configuration.tokenRecheck
    var authorization: StreamAuthorization?
    switch configuration.authorization {
    case .none:
      break
    case .consulACL:
      if let aclClient {
        authorization = StreamAuthorization(
          authorizer: ConsulTokenAuthorizer(client: aclClient, pipeline: pipeline), recheckInterval: recheck)
      }
    case .tokenFile(let path):
      authorization = StreamAuthorization(
        authorizer: FileTokenAuthorizer(path: path, pipeline: pipeline), recheckInterval: recheck)
    }
    if configuration.xdsTLS?.clientCAPath != nil {
      authorization = StreamAuthorization(
        authorizer: CertificateBindingAuthorizer(pipeline: pipeline, next: authorization?.authorizer),
        recheckInterval: recheck)
    }
    return authorization
  }
}

/// `host:port`, with an IPv6 host in brackets.
func addressText(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
