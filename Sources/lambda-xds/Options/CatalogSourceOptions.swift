import ArgumentParser
import ConsulCatalog
import ConsulWatch
import Foundation
import Logging
import Synchronization

/// Where the catalog comes from: a catalog file (the embedded default) or Consul. Shared by every
/// command that reads the catalog, so they all see the same thing.
struct CatalogSourceOptions: ParsableArguments {
  @Option(help: "Read the catalog from this JSON or YAML file instead of Consul (watched for edits).")
  var catalogFile: String?

  @Option(help: "Consul address: host:port, http://, https:// or unix:// (env: CONSUL_HTTP_ADDR).")
  var consulAddress: String?

  @Option(help: "ACL token (env: CONSUL_HTTP_TOKEN).")
  var consulToken: String?

  @Option(help: "File holding the ACL token (env: CONSUL_HTTP_TOKEN_FILE).")
  var consulTokenFile: String?

  @Option(help: "CA certificates to trust for Consul's HTTPS (env: CONSUL_CACERT).")
  var consulCACert: String?

  @Option(help: "Client certificate for mutual TLS to Consul (env: CONSUL_CLIENT_CERT).")
  var consulClientCert: String?

  @Option(help: "Client key for mutual TLS to Consul (env: CONSUL_CLIENT_KEY).")
  var consulClientKey: String?

  @Flag(help: "Do not verify Consul's certificate (env: CONSUL_HTTP_SSL_VERIFY=false).")
  var consulSkipVerify = false

  @Flag(help: "Let any Consul server answer (?stale): cheaper, usually < 50 ms behind.")
  var consulStale = false

  @Option(help: "Consul datacenter (default: the agent's; for a catalog file, its own).")
  var datacenter: String?

  /// Consul's environment variables, overridden by the flags given.
  func consulConfig(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ConsulConfig {
    var env = environment
    if let consulTokenFile { env["CONSUL_HTTP_TOKEN_FILE"] = consulTokenFile }
    if let consulCACert { env["CONSUL_CACERT"] = consulCACert }
    if let consulClientCert { env["CONSUL_CLIENT_CERT"] = consulClientCert }
    if let consulClientKey { env["CONSUL_CLIENT_KEY"] = consulClientKey }
    var config = try ConsulConfig(environment: env) { try String(contentsOfFile: $0, encoding: .utf8) }
    if let consulAddress { try config.setAddress(consulAddress) }
    if let consulToken { config.token = consulToken }
    if consulSkipVerify { config.verifyTLS = false }
    config.stale = consulStale
    config.datacenter = datacenter
    return config
  }

  /// Runs the chosen source until cancelled, publishing each new catalog into `feed` and, in
  /// Consul mode, the Connect CA's certificates into `certificates`.
  func run(
    into feed: CatalogFeed, certificates: @escaping @Sendable (MeshCertificates) -> Void, logger: Logger
  ) async throws {
    if let catalogFile {
      logger.info("reading the catalog file", metadata: ["path": "\(catalogFile)"])
      await CatalogFileWatcher(path: catalogFile).run(
        publish: { feed.publish($0) },
        onError: { logger.error("catalog file rejected; keeping the last good catalog", metadata: ["error": "\($0)"]) })
      return
    }
    let config = try consulConfig()
    let client = ConsulClient(
      config: config, http: try ConsulClient.makeHTTPClient(config), health: ConsulHealth(logger: logger))
    logger.info("watching Consul", metadata: ["address": "\(config.scheme)://\(config.address)"])
    let watcher = ConsulCatalogWatcher(client: client, datacenter: datacenter ?? "dc1", logger: logger)
    let leafServices = AsyncStream.makeStream(of: Set<String>.self, bufferingPolicy: .bufferingNewest(1))
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        await watcher.run(publish: { catalog in
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

  /// Reads the catalog once (for `dump` and `check`): the file, or Consul's first complete view.
  func readOnce(logger: Logger, timeout: Duration = .seconds(30)) async throws -> (CatalogSnapshot, MeshCertificates) {
    if let catalogFile {
      do { return (try CatalogFile.snapshot(contentsOf: catalogFile), .none) } catch { throw ValidationError("\(error)") }
    }
    let config = try consulConfig()
    let client = ConsulClient(
      config: config, http: try ConsulClient.makeHTTPClient(config), health: ConsulHealth(logger: logger))
    let feed = CatalogFeed()
    let lastError = LastError()
    let watcher = ConsulCatalogWatcher(client: client, datacenter: datacenter ?? "dc1", logger: logger)
    let catalog = await withTaskGroup(of: CatalogSnapshot?.self) { group in
      group.addTask {
        await watcher.run(publish: { feed.publish($0) }, failed: { error in lastError.value.withLock { $0 = "\(error)" } })
        return nil
      }
      group.addTask {
        for await update in feed.updates { return update.snapshot }
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
      throw ValidationError(
        "no answer from Consul at \(config.scheme)://\(config.address) within \(timeout)"
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

/// The last error a one-shot Consul read saw, for its failure message.
private final class LastError: Sendable {
  let value = Mutex<String?>(nil)
}
