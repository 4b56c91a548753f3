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
  /// How often the datacenter list is read again (Consul answers it without blocking).
  public var datacenterInterval: Duration = .seconds(30)
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
    // Other datacenters, and "<dc>/<service>" for each service upstreams name there.
    let (remoteDatacenters, remoteDatacentersChanged) = AsyncStream.makeStream(
      of: Set<String>.self, bufferingPolicy: .bufferingNewest(1))
    let (remoteServices, remoteServicesChanged) = AsyncStream.makeStream(
      of: Set<String>.self, bufferingPolicy: .bufferingNewest(1))

    /// - Parameter expect: hold snapshots back until this watch answers (per-service watches are
    ///   expected when the service list adds them, so a late-starting task cannot re-add one).
    /// - Parameter optional: a 403 counts as an empty answer (a token without that read
    ///   permission must not hold every snapshot back); it is still reported.
    /// - Parameter remote: about another datacenter: any error before the first answer stops
    ///   holding snapshots back (that datacenter being unreachable must not stall this one's).
    @Sendable func watch(
      _ key: String, _ path: String, query: [String: String] = [:], expect: Bool = true, optional: Bool = false,
      remote: Bool = false, _ apply: @escaping @Sendable (JSONValue?, inout CatalogAccumulator.State) -> Void
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
            } else if remote && accumulator.isPending(key) {
              accumulator.update(key) { _ in }
              changed.yield()
            }
            await failed(error)
          })
      }
    }

    /// Another datacenter's mesh gateways: the services of kind mesh-gateway there, and each
    /// one's instances (with their WAN addresses).
    @Sendable func watchMeshGateways(in dc: String) async {
      let (names, namesChanged) = AsyncStream.makeStream(of: Set<String>.self, bufferingPolicy: .bufferingNewest(1))
      await withTaskGroup(of: Void.self) { group in
        group.addTask(
          operation: watch(
            "gateways/\(dc)", "/v1/catalog/services", query: ["dc": dc, "filter": "ServiceKind == \"mesh-gateway\""],
            expect: false, remote: true
          ) { body, _ in namesChanged.yield(ConsulAnswers.serviceNames(body)) })
        await forEachWanted(
          names,
          onChange: { _, removed in
            for name in removed { accumulator.forget("gateway/\(dc)/\(name)") { $0.remoteGateways[dc]?[name] = nil } }
            if !removed.isEmpty { changed.yield() }
          },
          run: { name in
            await watch("gateway/\(dc)/\(name)", "/v1/health/service/\(name)", query: ["dc": dc], expect: false, remote: true) {
              body, state in state.remoteGateways[dc, default: [:]][name] = ConsulAnswers.registrations(fromHealth: body)
            }()
          })
        group.cancelAll()
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
        var wantedRemote = Set<String>()
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
          // Upstreams in other datacenters decide what to ask them; a snapshot that names a
          // new one waits for its answer (or its first error).
          let wanted = Set(snapshot.remoteUpstreams.flatMap { dc, services in services.map { "\(dc)/\($0)" } })
          if wanted != wantedRemote {
            for key in wanted.subtracting(wantedRemote) { accumulator.expect("connect/\(key)") }
            let added = !wanted.subtracting(wantedRemote).isEmpty
            wantedRemote = wanted
            remoteServicesChanged.yield(wanted)
            if added { continue }
          }
          snapshot.aclDefaultPolicy = client.aclDefaultPolicy
          guard snapshot != published else { continue }
          published = snapshot
          await publish(snapshot)
        }
      }

      accumulator.expect("datacenters")
      group.addTask { [client, datacenter, datacenterInterval, logger] in
        await Self.pollDatacenters(client, every: datacenterInterval, logger: logger) { names in
          // Only this one: as a catalog file without other datacenters says it.
          accumulator.update("datacenters") { $0.datacenters = names == [datacenter] ? [] : names }
          remoteDatacentersChanged.yield(Set(names).subtracting([datacenter]))
          changed.yield()
        }
      }
      group.addTask {
        await forEachWanted(
          remoteDatacenters,
          onChange: { _, removed in
            for dc in removed { accumulator.forget("gateways/\(dc)") { $0.remoteGateways[dc] = nil } }
            if !removed.isEmpty { changed.yield() }
          },
          run: { dc in await watchMeshGateways(in: dc) })
      }
      group.addTask {
        await forEachWanted(
          remoteServices,
          onChange: { _, removed in
            for key in removed {
              let (dc, service) = Self.split(key)
              accumulator.forget("connect/\(key)") { $0.remoteEndpoints[dc]?[service] = nil }
            }
            if !removed.isEmpty { changed.yield() }
          },
          run: { key in
            let (dc, service) = Self.split(key)
            await watch("connect/\(key)", "/v1/health/connect/\(service)", query: ["dc": dc], expect: false, remote: true) {
              body, state in state.remoteEndpoints[dc, default: [:]][service] = ConsulAnswers.registrations(fromHealth: body)
            }()
          })
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

  /// `<dc>/<service>` -> (dc, service).
  static func split(_ key: String) -> (String, String) {
    let parts = key.split(separator: "/", maxSplits: 1)
    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
  }

  /// Reads `/v1/catalog/datacenters` now and every `interval`; delivers each different list.
  /// Failures are logged and retried at the same pace (the last list stays in force).
  static func pollDatacenters(
    _ client: ConsulClient, every interval: Duration, logger: Logger, deliver: @Sendable ([String]) async -> Void
  ) async {
    var last: [String]?
    while !Task.isCancelled {
      do {
        let names = ConsulAnswers.datacenters(try await client.get("/v1/catalog/datacenters").body)
        if names != last {
          last = names
          await deliver(names)
        }
      } catch {
        logger.warning("cannot list datacenters", metadata: ["error": "\(error)"])
        if last == nil {
          last = []
          await deliver([])
        }
      }
      try? await Task.sleep(for: interval)
    }
  }
}
