import ConsulCatalog
public import Logging
import Synchronization

/// One view of whether Consul answers, shared by every watch of a client: a circuit breaker.
///
/// A failing request does not send its watch into a backoff of its own. It asks for a probe of
/// `/v1/status/leader`; if Consul answers, the watch retries at once (a transient error). If not,
/// Consul is down: every watch waits here while one probe retries every `probeInterval`, and the
/// first success wakes them all together (each after a little jitter). Recovery then costs one
/// probe interval, whatever the outage's length or kind (5xx, refused, dropped, hanging).
///
/// Every recovery, and every index reset the monitor notices, starts a new *generation*: requests
/// begun before it are abandoned (their connections may be dead) and every query reads once
/// without blocking, so nothing that changed meanwhile is missed.
public final class ConsulHealth: Sendable {
  private struct State {
    var up = true
    var generation = 0
    var downSince: ContinuousClock.Instant?
    /// Watches waiting for Consul to answer, or for the next generation.
    var waiters: [Int: (generation: Int?, resume: CheckedContinuation<Void, Never>)] = [:]
    var nextID = 0
    /// Set by a failing request: the monitor probes now instead of at its next tick.
    var probeRequested = false
    var probeSignal: CheckedContinuation<Void, Never>?
    /// How many probes have finished; a failing request waits for the next one.
    var probes = 0
    var monitoring = false
    /// The service list's last index, to notice an index that went backwards.
    var servicesIndex: UInt64 = 0
  }

  private let state = Mutex(State())
  /// How often the probe retries while Consul is down.
  public let probeInterval: Duration
  /// How often the monitor checks a Consul that seems up (hung connections, index resets).
  public let checkInterval: Duration
  let logger: Logger

  public init(probeInterval: Duration = .milliseconds(500), checkInterval: Duration = .seconds(5), logger: Logger) {
    self.probeInterval = probeInterval
    self.checkInterval = checkInterval
    self.logger = logger
  }

  public var isUp: Bool { state.withLock { $0.up } }
  /// How long Consul has been unreachable; nil while it answers.
  public var downFor: Duration? { state.withLock { $0.downSince.map { ContinuousClock.now - $0 } } }
  public var generation: Int { state.withLock { $0.generation } }

  // MARK: Watches

  /// Returns at once while Consul is up; else when it answers again.
  func waitUntilUp() async {
    await wait { $0.up ? nil : .some(nil) }
  }

  /// Returns when a generation after `generation` starts (or the task is cancelled).
  func nextGeneration(after generation: Int) async {
    await wait { $0.generation > generation ? nil : .some(generation) }
  }

  /// A request failed in a way that may mean Consul is down. Returns once a probe has decided:
  /// at once (with a short pause) when nothing monitors, else after the next probe, which takes
  /// Consul down if it fails too.
  func requestFailed() async {
    let (monitored, seen) = state.withLock { state in
      state.probeRequested = true
      state.probeSignal?.resume()
      state.probeSignal = nil
      return (state.monitoring, state.probes)
    }
    guard monitored else {
      try? await Task.sleep(for: probeInterval)
      return
    }
    while !Task.isCancelled, state.withLock({ $0.probes == seen && $0.monitoring }) {
      try? await Task.sleep(for: .milliseconds(20))
    }
  }

  /// A request succeeded: Consul is up.
  func requestSucceeded() { markUp() }

  /// The service list's watch reports its index, so the monitor can tell when Consul's index
  /// went backwards (a snapshot restore) while blocking queries wait on indexes that no longer exist.
  func noteServicesIndex(_ index: UInt64) { state.withLock { $0.servicesIndex = max($0.servicesIndex, index) } }

  // MARK: The monitor

  /// Probes until cancelled: every `probeInterval` while Consul is down, every `checkInterval`
  /// (or at once when a request failed) while it is up. Run by the catalog watcher.
  func monitor(_ client: ConsulClient) async {
    state.withLock { $0.monitoring = true }
    defer { state.withLock { $0.monitoring = false } }
    while !Task.isCancelled {
      let up = state.withLock { state in
        state.probeRequested = false
        return state.up
      }
      await probe(client, checkingIndex: up)
      state.withLock { $0.probes += 1 }
      if state.withLock({ $0.up }) {
        await idle(checkInterval)
      } else {
        try? await Task.sleep(for: probeInterval)
      }
    }
  }

  private func probe(_ client: ConsulClient, checkingIndex: Bool) async {
    do {
      let leader = try await client.get("/v1/status/leader", timeout: .seconds(2))
      guard leader.body.string.map({ !$0.isEmpty }) ?? true else {
        markDown(ConsulError(.server, "/v1/status/leader: no cluster leader"))
        return
      }
      markUp()
      guard checkingIndex else { return }
      // The leader's own answer (never stale): lower than what the watch holds means a reset.
      let services = try await client.get("/v1/catalog/services", timeout: .seconds(5), stale: false)
      let held = state.withLock { $0.servicesIndex }
      if services.index > 0 && services.index < held {
        logger.warning(
          "Consul's index went backwards (a snapshot restore?); every query reads again",
          metadata: ["was": "\(held)", "now": "\(services.index)"])
        state.withLock { state in
          state.servicesIndex = services.index
          Self.startGeneration(&state)
        }
      }
    } catch where error.code == .transport || error.code == .server {
      markDown(error)
    } catch {
      markUp()  // Consul answered (403, 404, 400): it is up.
    }
  }

  /// Sleeps up to `duration`, or until a failing request asks for a probe.
  private func idle(_ duration: Duration) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { try? await Task.sleep(for: duration) }
      group.addTask {
        await withCheckedContinuation { continuation in
          let resumeNow = self.state.withLock { state -> Bool in
            if state.probeRequested { return true }
            state.probeSignal = continuation
            return false
          }
          if resumeNow { continuation.resume() }
        }
      }
      await group.next()
      group.cancelAll()
      state.withLock { state in
        state.probeSignal?.resume()
        state.probeSignal = nil
      }
    }
  }

  private func markDown(_ error: ConsulError) {
    let wentDown = state.withLock { state -> Bool in
      guard state.up else { return false }
      state.up = false
      state.downSince = .now
      return true
    }
    if wentDown {
      logger.warning("Consul is unreachable; keeping the last good state", metadata: ["error": "\(error)"])
    }
  }

  private func markUp() {
    let outage = state.withLock { state -> Duration? in
      guard !state.up else { return nil }
      state.up = true
      let since = state.downSince.map { ContinuousClock.now - $0 }
      state.downSince = nil
      Self.startGeneration(&state)
      return since ?? .zero
    }
    if let outage { logger.info("Consul answers again; every query reads once", metadata: ["outage": "\(outage)"]) }
  }

  private static func startGeneration(_ state: inout State) {
    state.generation += 1
    for (id, waiter) in state.waiters where waiter.generation.map({ state.generation > $0 }) ?? state.up {
      waiter.resume.resume()
      state.waiters[id] = nil
    }
  }

  /// Suspends until `blocked` returns nil; its non-nil value is the generation waited past (or
  /// nil: waiting for up). Cancellation resumes it.
  private func wait(_ blocked: @escaping @Sendable (State) -> Int??) async {
    let id = state.withLock { state in
      state.nextID += 1
      return state.nextID
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLock { state -> Bool in
          guard let waitingFor = blocked(state), !Task.isCancelled else { return true }
          state.waiters[id] = (waitingFor, continuation)
          return false
        }
        if resumeNow { continuation.resume() }
      }
    } onCancel: {
      let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
      waiter?.resume.resume()
    }
  }
}
