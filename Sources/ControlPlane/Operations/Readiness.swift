import Synchronization

/// Whether `serve` should receive proxies (`/readyz`): the first complete catalog is translated
/// and the xDS listener is up, it is not draining, and Consul has not been unreachable for longer
/// than the allowed staleness.
public final class Readiness: Sendable {
  private struct State {
    var listening = false
    var draining = false
  }

  private let state = Mutex(State())
  /// How long Consul may be unreachable before the server says it is not ready (nil: forever).
  let maxStaleness: Duration?
  /// Whether the first catalog has been translated.
  let translated: @Sendable () -> Bool
  /// How long Consul has been unreachable (nil: it answers, or the source is a file).
  let unreachableFor: @Sendable () -> Duration?

  init(
    maxStaleness: Duration?, translated: @escaping @Sendable () -> Bool,
    unreachableFor: @escaping @Sendable () -> Duration?
  ) {
    self.maxStaleness = maxStaleness
    self.translated = translated
    self.unreachableFor = unreachableFor
  }

  func listening() { state.withLock { $0.listening = true } }
  func draining() { state.withLock { $0.draining = true } }

  /// nil when ready, else why not.
  public var notReadyReason: String? {
    let state = state.withLock { $0 }
    if state.draining { return "draining" }
    if !state.listening { return "the xDS listener is not up yet" }
    if !translated() { return "the first catalog is not translated yet" }
    if let maxStaleness, let down = unreachableFor(), down > maxStaleness {
      return "Consul has been unreachable for \(down.components.seconds) s (more than --ready-max-staleness)"
    }
    return nil
  }
}
