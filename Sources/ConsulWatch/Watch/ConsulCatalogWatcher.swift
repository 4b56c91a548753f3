public import ConsulCatalog
public import Logging

/// Watches everything lambda-xds needs from Consul and publishes coalesced catalog snapshots.
///
/// One blocking query per config-entry kind, one for the service list, one for lambda-xds's
/// settings in KV (``LambdaSettingsKV``), one for the CA roots and
/// one per service (its health view, which carries proxies, upstreams, gateway instances and
/// checks): the number of open queries grows with the number of services, never with services
/// times proxies. Per-service watches start and stop as services appear and disappear.
public struct ConsulCatalogWatcher: Sendable {
  public var client: ConsulClient
  public var datacenter: String
  /// A snapshot is built once no change arrived for this long...
  public var quietPeriod: Duration = .milliseconds(100)
  /// ...or when a burst has lasted this long, so a steady stream of changes still gets through.
  public var maxDelay: Duration = .seconds(1)
  public var wait: Duration = .seconds(300)
  public var logger: Logger

  public static let configKinds = [
    "service-defaults", "terminating-gateway", "service-intentions", "proxy-defaults", "mesh", "service-splitter",
  ]

  public init(client: ConsulClient, datacenter: String, logger: Logger) {
    self.client = client
    self.datacenter = datacenter
    self.logger = logger
  }

  /// Runs until cancelled. `publish` gets each new, different snapshot; `failed` every error.
  public func run(
    publish: @escaping @Sendable (CatalogSnapshot) async -> Void,
    failed: @escaping @Sendable (ConsulError) async -> Void = { _ in }
  ) async {
    let accumulator = CatalogAccumulator()
    let (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    let (serviceLists, serviceListChanged) = AsyncStream.makeStream(of: Set<String>.self)

    /// - Parameter expect: hold snapshots back until this watch answers (per-service watches are
    ///   expected when the service list adds them, so a late-starting task cannot re-add one).
    /// - Parameter optional: a 403 counts as an empty answer (a token without that read
    ///   permission must not hold every snapshot back); it is still reported.
    @Sendable func watch(
      _ key: String, _ path: String, query: [String: String] = [:], expect: Bool = true, optional: Bool = false,
      _ apply: @escaping @Sendable (JSONValue?, inout CatalogAccumulator.State) -> Void
    ) -> @Sendable () async -> Void {
      if expect { accumulator.expect(key) }
      var blocking = BlockingWatch(client: client, path: path, query: query, logger: logger)
      blocking.wait = wait
      return { [blocking] in
        await blocking.run(
          deliver: { body in
            accumulator.update(key) { apply(body, &$0) }
            changed.yield()
          },
          failed: { error in
            if optional && error.code == .forbidden && accumulator.isPending(key) {
              accumulator.update(key) { apply(nil, &$0) }
              changed.yield()
            }
            await failed(error)
          })
      }
    }

    await withTaskGroup(of: Void.self) { group in
      // One probe for every watch of this client (the certificate watcher's included).
      group.addTask { [client] in await client.health.monitor(client) }
      for kind in Self.configKinds {
        group.addTask(operation: watch("config/\(kind)", "/v1/config/\(kind)") { body, state in
          state.entriesByKind[kind] = ConsulAnswers.configEntries(body)
        })
      }
      group.addTask(operation: watch("kv", "/v1/kv/\(LambdaSettingsKV.prefix)", query: ["recurse": ""], optional: true) { body, state in
        state.lambdaSettings = ConsulAnswers.lambdaSettings(fromKV: body)
      })
      group.addTask(operation: watch("roots", "/v1/connect/ca/roots") { body, state in
        state.trustDomain = ConsulAnswers.trustDomain(fromRoots: body)
      })
      group.addTask(operation: watch("services", "/v1/catalog/services") { body, _ in
        serviceListChanged.yield(ConsulAnswers.serviceNames(body))
      })
      group.addTask { [quietPeriod, maxDelay] in
        var published: CatalogSnapshot?
        for await _ in changes {
          let start = ContinuousClock.now
          var seen = accumulator.generation
          while !Task.isCancelled {
            try? await Task.sleep(for: quietPeriod)
            let now = accumulator.generation
            if now == seen || ContinuousClock.now - start >= maxDelay { break }
            seen = now
          }
          guard var snapshot = accumulator.snapshot(datacenter: datacenter) else { continue }
          snapshot.aclDefaultPolicy = client.aclDefaultPolicy
          guard snapshot != published else { continue }
          published = snapshot
          await publish(snapshot)
        }
      }

      await forEachWanted(
        serviceLists,
        onChange: { added, removed in
          for name in added { accumulator.expect("health/\(name)") }
          for name in removed { accumulator.forget(service: name) }
          if !added.isEmpty || !removed.isEmpty { changed.yield() }
        },
        run: { name in
          await watch("health/\(name)", "/v1/health/service/\(name)", expect: false) { body, state in
            state.healthByService[name] = ConsulAnswers.registrations(fromHealth: body)
          }()
        })
      group.cancelAll()
    }
  }
}
