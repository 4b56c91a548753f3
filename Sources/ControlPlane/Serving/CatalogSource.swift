public import ConsulCatalog
public import ConsulWatch
public import Logging
import Synchronization

/// Where the catalog comes from: a catalog file (watched for edits) or Consul (blocking queries
/// on the catalog, config entries and the Connect CA). `serve`, `dump` and `check` all read it
/// through here, so they see the same thing.
public enum CatalogSource: Sendable {
  case file(path: String)
  case consul(ConsulConfig, datacenter: String?)

  /// A source that cannot be read (`dump` and `check` report it and exit).
  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  /// Runs until cancelled, publishing each new catalog into `feed` and, in Consul mode, the
  /// Connect CA's certificates into `certificates`.
  /// - Parameters:
  ///   - health: Consul's reachability, shared with readiness (Consul mode).
  ///   - metrics: counts Consul's answers.
  public func run(
    into feed: CatalogFeed, certificates: @escaping @Sendable (MeshCertificates) -> Void,
    health: ConsulHealth? = nil, metrics: ConsulMetrics = .none, logger: Logger
  ) async throws {
    switch self {
    case .file(let path):
      logger.info("reading the catalog file", metadata: ["path": "\(path)"])
      await CatalogFileWatcher(path: path).run(
        publish: { catalog, change in
          var (catalog, change) = (catalog, change)
          let unchecked = catalog.gatewayTLS
          catalog.inspectGatewayFiles()
          // What the files say is not in the reader's change: the gateways it concerns are.
          if catalog.gatewayTLS != unchecked {
            change.formUnion(CatalogChange(services: Set(catalog.gatewayTLS.keys).union(catalog.gatewayTLS.values.flatMap(\.keys))))
          }
          feed.publish(catalog, change: change)
        },
        onError: { logger.error("catalog file rejected; keeping the last good catalog", metadata: ["error": "\($0)"]) })
    case .consul(let config, let datacenter):
      let client = ConsulClient(
        config: config, http: try ConsulClient.makeHTTPClient(config), health: health ?? ConsulHealth(logger: logger),
        metrics: metrics)
      logger.info("watching Consul", metadata: ["address": "\(config.scheme)://\(config.address)"])
      guard let datacenter = await Self.datacenter(datacenter, from: client, logger: logger) else {
        try await client.shutdown()
        return  // cancelled before the agent answered
      }
      let watcher = ConsulCatalogWatcher(client: client, datacenter: datacenter, logger: logger)
      let leafServices = AsyncStream.makeStream(of: Set<String>.self, bufferingPolicy: .bufferingNewest(1))
      await withTaskGroup(of: Void.self) { group in
        group.addTask {
          await watcher.run(publish: { catalog in
            var catalog = catalog
            catalog.inspectGatewayFiles()
            feed.publish(catalog)
            leafServices.continuation.yield(catalog.servicesNeedingLeaves)
          })
        }
        group.addTask {
          await ConsulCertificateWatcher(client: client, logger: logger).run(
            services: leafServices.stream, publish: { certificates($0) })
        }
        await group.next()
        group.cancelAll()
      }
      try await client.shutdown()
    }
  }

  /// Reads the catalog once (for `dump` and `check`): the file, or Consul's first complete view
  /// with the Connect CA's certificates.
  public func readOnce(logger: Logger, timeout: Duration = .seconds(30)) async throws -> (CatalogSnapshot, MeshCertificates) {
    let (config, datacenter): (ConsulConfig, String?)
    switch self {
    case .file(let path):
      do {
        var catalog = try CatalogFile.snapshot(contentsOf: path)
        catalog.inspectGatewayFiles()
        return (catalog, .none)
      } catch { throw Failure(description: "\(error)") }
    case .consul(let consul, let dc):
      (config, datacenter) = (consul, dc)
    }
    let client = ConsulClient(
      config: config, http: try ConsulClient.makeHTTPClient(config), health: ConsulHealth(logger: logger))
    let feed = CatalogFeed()
    let lastError = LastError()
    let resolved: String
    do {
      if let datacenter { resolved = datacenter } else { resolved = try await Self.agentDatacenter(client) }
    } catch {
      try await client.shutdown()
      throw Failure(description: "\(error); give --datacenter, or let the token read the agent (agent:read)")
    }
    let watcher = ConsulCatalogWatcher(client: client, datacenter: resolved, logger: logger)
    let catalog = await withTaskGroup(of: CatalogSnapshot?.self) { group in
      group.addTask {
        await watcher.run(publish: { feed.publish($0) }, failed: { error in lastError.value.withLock { $0 = "\(error)" } })
        return nil
      }
      group.addTask {
        for await update in feed.updates {
          var catalog = update.snapshot
          catalog.inspectGatewayFiles()
          return catalog
        }
        return nil
      }
      group.addTask {
        try? await Task.sleep(for: timeout)
        return nil
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      feed.finish()
      return first
    }
    guard let catalog else {
      try await client.shutdown()
      throw Failure(
        description: "no answer from Consul at \(config.scheme)://\(config.address) within \(timeout)"
          + (lastError.value.withLock { $0 }.map { ": \($0)" } ?? ""))
    }
    var certificates = MeshCertificates.none
    do {
      certificates = try await ConsulCertificateWatcher(client: client, logger: logger)
        .fetch(services: catalog.servicesNeedingLeaves)
    } catch {
      logger.warning("cannot read Connect CA certificates; gated services will report it", metadata: ["error": "\(error)"])
    }
    try await client.shutdown()
    return (catalog, certificates)
  }
}

extension CatalogSource {
  /// The datacenter names, SNI and SPIFFE identities use: `--datacenter`, else the local agent's
  /// own (`/v1/agent/self`), asked until it answers (nil if cancelled first).
  static func datacenter(_ given: String?, from client: ConsulClient, logger: Logger) async -> String? {
    if let given { return given }
    while !Task.isCancelled {
      do {
        let datacenter = try await agentDatacenter(client)
        logger.info("the agent's datacenter", metadata: ["datacenter": "\(datacenter)"])
        return datacenter
      } catch {
        logger.warning("cannot read the agent's datacenter; retrying (or give --datacenter)", metadata: ["error": "\(error)"])
        try? await Task.sleep(for: .seconds(2))
      }
    }
    return nil
  }

  /// `Config.Datacenter` of `/v1/agent/self`.
  static func agentDatacenter(_ client: ConsulClient) async throws -> String {
    let reply = try await client.get("/v1/agent/self", stale: false)
    guard let datacenter = reply.body["Config"]?["Datacenter"]?.string, !datacenter.isEmpty else {
      throw Failure(description: "/v1/agent/self names no Config.Datacenter")
    }
    return datacenter
  }
}

/// The last error a one-shot Consul read saw, for its failure message.
private final class LastError: Sendable {
  let value = Mutex<String?>(nil)
}
