public import ADSServer
import ConsulCatalog
import ConsulWatch
import Foundation
public import Logging
import MeshIdentity
public import ResourceCache
import Translation

/// `serve`, wired: the catalog source feeds the pipeline, the pipeline fills the snapshot cache,
/// the ADS server streams it to proxies (behind the configured authorization), and the admin API
/// shows all of it. Runs until its task is cancelled.
public struct ControlPlaneServer: Sendable {
  /// What listens, with the port it got (useful with port 0).
  public enum Listener: Sendable {
    case xds
    case admin
  }

  public let configuration: ServeConfiguration
  public let cache = SnapshotCache()
  public let status = XDSStatusBoard()
  public let pipeline: ConfigurationPipeline
  let logger: Logger

  public init(configuration: ServeConfiguration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
    var makeAuthority: ConfigurationPipeline.AuthorityFactory?
    if case .file = configuration.source {
      makeAuthority = { [directory = configuration.dataDirectory] trustDomain in
        try DevAuthority.loadOrCreate(in: directory, trustDomain: trustDomain, logger: logger)
      }
    }
    pipeline = ConfigurationPipeline(
      translator: Translator(options: configuration.translation), cache: cache, makeAuthority: makeAuthority,
      leafLifetime: configuration.leafLifetime, leafStore: configuration.dataDirectory,
      certificateWait: configuration.certificateWait, debounce: configuration.debounce, logger: logger)
  }

  public func run(onListening: @escaping @Sendable (Listener, Int) -> Void = { _, _ in }) async throws {
    let aclClient = try configuration.authorization == .consulACL
      ? configuration.consulConfig.map { ConsulClient(config: $0, http: try ConsulClient.makeHTTPClient($0)) } : nil
    var server = XDSServer(
      host: configuration.xdsHost, port: configuration.xdsPort,
      service: AggregatedDiscoveryService(cache: cache, status: status, logger: logger, authorization: authorization(aclClient)),
      maxRequestBytes: configuration.maxRequestBytes, backlog: configuration.backlog)
    server.tls = configuration.xdsTLS
    let admin = AdminServer(
      host: configuration.adminHost, port: configuration.adminPort,
      routes: AdminRoutes(cache: cache, status: status, pipeline: pipeline))
    defer { if let aclClient { Task { try? await aclClient.shutdown() } } }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { [server, logger, configuration] in
        try await server.run { port in
          logger.info("xDS server listening", metadata: ["address": "\(configuration.xdsHost):\(port)"])
          onListening(.xds, port)
        }
      }
      let feed = CatalogFeed()
      group.addTask { [configuration, pipeline, logger] in
        try await configuration.source.run(into: feed, certificates: { pipeline.submit($0) }, logger: logger)
      }
      group.addTask { [pipeline] in await pipeline.run(feed) }
      group.addTask { [logger, configuration] in
        try await admin.run { port in
          logger.info("admin API listening", metadata: ["address": "\(configuration.adminHost):\(port)"])
          onListening(.admin, port)
        }
      }
      group.addTask { [cache, logger] in await MemoryTrim.run(watching: cache, logger: logger) }
      // Every task runs until cancelled; the first to end (or fail) ends the server.
      _ = try await group.next()
      group.cancelAll()
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
