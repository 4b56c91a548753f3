import ConsulCatalog
import Synchronization

/// The latest answer of every watch, from which catalog snapshots are built.
final class CatalogAccumulator: Sendable {
  struct State {
    /// Each service's health entries, as registration bodies.
    var healthByService: [String: [JSONValue]] = [:]
    var entriesByKind: [String: [JSONValue]] = [:]
    var trustDomain: String?
    /// From Consul KV under `lambda-xds/services/`.
    var lambdaSettings: [String: JSONValue] = [:]
    /// `/v1/catalog/datacenters`.
    var datacenters: [String] = []
    /// Other datacenters: mesh gateway service -> its health entries as registration bodies.
    var remoteGateways: [String: [String: [JSONValue]]] = [:]
    /// Other datacenters: service -> its `/v1/health/connect` entries as registration bodies.
    var remoteEndpoints: [String: [String: [JSONValue]]] = [:]
    /// Watches that have not answered yet: no snapshot is built before all have, so a partial
    /// (or empty) catalog is never published.
    var pending: Set<String> = []
    /// Bumped by every change, so the publisher can tell a quiet period from a burst.
    var generation = 0
  }

  let state = Mutex(State())

  func expect(_ key: String) { state.withLock { _ = $0.pending.insert(key) } }

  func update(_ key: String, _ change: (inout State) -> Void) {
    state.withLock { state in
      change(&state)
      state.pending.remove(key)
      state.generation += 1
    }
  }

  func forget(service: String) {
    state.withLock { state in
      state.healthByService[service] = nil
      state.pending.remove("health/\(service)")
      state.generation += 1
    }
  }

  /// Drops what a watch that stopped had delivered (`forget` clears it from the state).
  func forget(_ key: String, _ clear: (inout State) -> Void) {
    state.withLock { state in
      clear(&state)
      state.pending.remove(key)
      state.generation += 1
    }
  }

  var generation: Int { state.withLock { $0.generation } }

  func isPending(_ key: String) -> Bool { state.withLock { $0.pending.contains(key) } }

  /// The snapshot of everything answered so far; nil while a watch has not answered yet.
  func snapshot(datacenter: String) -> CatalogSnapshot? {
    let state = state.withLock { $0 }
    guard state.pending.isEmpty else { return nil }
    let registrations = state.healthByService.keys.sorted().flatMap { state.healthByService[$0]! }
    let entries = state.entriesByKind.keys.sorted().flatMap { state.entriesByKind[$0]! }
    var snapshot = CatalogSnapshot(
      datacenter: datacenter, registrations: registrations, configEntries: entries,
      trustDomain: state.trustDomain, lambdaSettings: state.lambdaSettings)
    snapshot.datacenters = state.datacenters
    for remote in Set(state.remoteGateways.keys).union(state.remoteEndpoints.keys).sorted() {
      func instances(_ bodies: [JSONValue]) -> [ServiceInstance] {
        bodies.compactMap { body in
          do { return try ServiceInstance(registration: body) } catch {
            snapshot.rejectedObjects.append("datacenter \(remote): \(error)")
            return nil
          }
        }
      }
      let gateways = (state.remoteGateways[remote] ?? [:]).keys.sorted().flatMap { instances(state.remoteGateways[remote]![$0]!) }
      snapshot.remote[remote] = RemoteDatacenter(
        meshGateways: gateways.filter { $0.kind == .meshGateway },
        connectEndpoints: (state.remoteEndpoints[remote] ?? [:]).mapValues(instances))
    }
    return snapshot
  }
}
