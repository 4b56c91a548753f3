public import ConsulCatalog
public import Logging
import Synchronization

/// Watches Consul's Connect CA: the roots, and a leaf certificate per service whose identity a
/// proxy presents (`/v1/agent/connect/ca/leaf/<service>`, which needs `service:write`).
///
/// One blocking query per such service, started and stopped as the set changes. The agent
/// answers a leaf query again when it renews the certificate (or the roots rotate), so renewal
/// arrives through the watch and only the SDS secrets change.
public struct ConsulCertificateWatcher: Sendable {
  public var client: ConsulClient
  public var wait: Duration = .seconds(300)
  public var logger: Logger

  public init(client: ConsulClient, logger: Logger) {
    self.client = client
    self.logger = logger
  }

  /// Runs until cancelled or `services` ends; `publish` gets every new set of certificates.
  public func run(
    services: AsyncStream<Set<String>>, publish: @escaping @Sendable (MeshCertificates) async -> Void
  ) async {
    let state = Shared(MeshCertificates())
    let (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))

    @Sendable func watch(_ path: String, _ apply: @escaping @Sendable (JSONValue?, inout MeshCertificates) -> Void)
      -> @Sendable () async -> Void
    {
      var blocking = BlockingWatch(client: client, path: path, logger: logger)
      blocking.wait = wait
      return { [blocking] in
        await blocking.run(deliver: { body in
          state.value.withLock { apply(body, &$0) }
          changed.yield()
        })
      }
    }

    await withTaskGroup(of: Void.self) { group in
      group.addTask(operation: watch("/v1/connect/ca/roots") { body, certificates in
        certificates.rootsPEM = ConsulAnswers.rootsPEM(body)
      })
      group.addTask {
        var published: MeshCertificates?
        for await _ in changes {
          let current = state.value.withLock { $0 }
          guard current != published else { continue }
          published = current
          await publish(current)
        }
      }
      await forEachWanted(
        services,
        onChange: { _, removed in
          guard !removed.isEmpty else { return }
          state.value.withLock { for service in removed { $0.leaves[service] = nil } }
          changed.yield()
        },
        run: { service in
          await watch("/v1/agent/connect/ca/leaf/\(service)") { body, certificates in
            certificates.leaves[service] = ConsulAnswers.leaf(body)
          }()
        })
      group.cancelAll()
    }
  }

  /// The roots and the leaves of `services`, read once (for `dump` and `check`).
  public func fetch(services: Set<String>) async throws(ConsulError) -> MeshCertificates {
    var certificates = MeshCertificates(rootsPEM: ConsulAnswers.rootsPEM(try await client.get("/v1/connect/ca/roots").body))
    for service in services.sorted() {
      certificates.leaves[service] = ConsulAnswers.leaf(try await client.get("/v1/agent/connect/ca/leaf/\(service)").body)
    }
    return certificates
  }
}
