import Foundation
import Synchronization

/// Drives a fleet of simulated Envoys: starts them all at once, and waits for conditions the
/// scenarios need (everyone configured, the stream gone quiet, a change observed).
struct FleetRun: Sendable {
  var server: HostPort
  var nodes: [NodeIdentity]
  var delta: Bool
  var fleet: Fleet
  var sink: RecordingSink?

  init(server: HostPort, nodes: [NodeIdentity], count: Int, delta: Bool, record: Bool = false) {
    self.server = server
    self.nodes = (0..<count).map { nodes[$0 % nodes.count] }
    self.delta = delta
    fleet = Fleet(count: count)
    sink = record ? RecordingSink(count: count) : nil
  }

  /// Runs every client in a task of its own, calls `body` with the moment they were started,
  /// then cancels them all.
  func withClients<T: Sendable>(_ body: (UInt64) async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
      let start = monotonicNanos()
      for index in nodes.indices {
        let envoy = SimulatedEnvoy(node: nodes[index], delta: delta, index: index, fleet: fleet, sink: sink)
        group.addTask { await envoy.run(server: server) }
      }
      do {
        let result = try await body(start)
        group.cancelAll()
        return result
      } catch {
        group.cancelAll()
        throw error
      }
    }
  }

  /// Polls `condition` every 2 ms until it holds (true) or `timeout` seconds pass (false).
  func wait(timeout: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = monotonicNanos() + UInt64(timeout * 1e9)
    while !condition() {
      if monotonicNanos() >= deadline { return false }
      try? await Task.sleep(for: .milliseconds(2))
    }
    return true
  }

  var everyoneDone: Bool {
    fleet.ready.load(ordering: .relaxed) + fleet.failed.load(ordering: .relaxed) >= nodes.count
  }

  /// No response anywhere for `quietMs`.
  func isQuiet(_ quietMs: Int) -> Bool {
    let last = fleet.lastResponse.load(ordering: .relaxed)
    return monotonicNanos() >= last + UInt64(quietMs) * 1_000_000
  }

  /// Waits until every client is ready (or failed) and nothing arrived for `quietMs`.
  func settle(quietMs: Int, timeout: Double) async -> Bool {
    await wait(timeout: timeout) { everyoneDone && isQuiet(quietMs) }
  }
}
