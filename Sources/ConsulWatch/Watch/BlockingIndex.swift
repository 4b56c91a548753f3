/// The index rules of Consul's blocking queries, as a value (see consul-api.md section 5).
public struct BlockingIndex: Sendable, Equatable {
  /// What to send as `?index=`; 0 means "answer at once".
  public private(set) var value: UInt64 = 0

  public init() {}

  /// Applies a response's `X-Consul-Index`. Returns false when the index went backwards (a
  /// snapshot restore or a deleted max-index item): the watch then starts again from 0.
  @discardableResult
  public mutating func received(_ index: UInt64) -> Bool {
    if index < value {
      value = 0
      return false
    }
    // 0 would turn the next request into a busy loop; 1 is always safe.
    value = max(index, 1)
    return true
  }

  /// After a client error (4xx) the index may no longer mean anything: start over.
  public mutating func reset() { value = 0 }
}

/// Capped exponential backoff with full jitter, for a watch whose requests keep failing.
public struct Backoff: Sendable, Equatable {
  public var base: Duration
  public var cap: Duration
  public private(set) var failures = 0

  public init(base: Duration = .milliseconds(250), cap: Duration = .seconds(30)) {
    self.base = base
    self.cap = cap
  }

  /// The delay before the next attempt; `random` is a number in 0..<1.
  public mutating func next(random: Double) -> Duration {
    failures += 1
    let exponent = min(failures - 1, 20)
    let ceiling = min(cap, base * (1 << exponent))
    // Half fixed, half random: never a burst of immediate retries, never in lockstep.
    return ceiling / 2 + ceiling / 2 * random
  }

  public mutating func succeeded() { failures = 0 }
}
