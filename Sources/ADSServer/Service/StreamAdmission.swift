import Synchronization

/// How many xDS streams the server takes, and how fast.
public struct StreamLimits: Sendable {
  /// Open streams in all (nil: no limit).
  public var maxStreams: Int?
  /// Open streams for one node id (nil: no limit). Envoy opens one ADS stream; more are a
  /// misconfiguration (two Envoys with one node id) or a client gone wrong.
  public var maxStreamsPerNode: Int?
  /// New streams per second, over a burst of one second's worth (nil: no limit).
  public var maxNewStreamsPerSecond: Double?
  /// A stream whose node id is not a proxy in the catalog ends with NOT_FOUND after this long.
  public var unknownNodeGrace: Duration = .seconds(10)

  public init() {}
}

/// Admits streams under ``StreamLimits``: counts open streams (in all and per node id) and meters
/// new ones with a token bucket. Its memory is bounded by the open streams.
public final class StreamAdmission: Sendable {
  private struct State {
    var open = 0
    var perNode: [String: Int] = [:]
    var tokens: Double
    var refilled = ContinuousClock.now
  }

  public let limits: StreamLimits
  private let state: Mutex<State>

  public init(_ limits: StreamLimits) {
    self.limits = limits
    state = Mutex(State(tokens: max(limits.maxNewStreamsPerSecond ?? 0, 1)))
  }

  /// Admits a stream for `nodeID` (then call ``release(_:)`` when it ends), or says why not.
  func admit(_ nodeID: String) -> (XDSMetrics.RefusalReason, String)? {
    state.withLock { state in
      if let rate = limits.maxNewStreamsPerSecond {
        let now = ContinuousClock.now
        let elapsed = now - state.refilled
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        state.tokens = min(max(rate, 1), state.tokens + seconds * rate)
        state.refilled = now
        guard state.tokens >= 1 else {
          return (.rate, "more than \(rate) new xDS streams per second (--max-new-streams-per-second); retry later")
        }
      }
      if let max = limits.maxStreamsPerNode, state.perNode[nodeID, default: 0] >= max {
        return (.maxStreamsPerNode, "node \(nodeID) already has \(max) open xDS streams (--max-streams-per-node)")
      }
      if let max = limits.maxStreams, state.open >= max {
        return (.maxStreams, "the server holds its maximum of \(max) xDS streams (--max-streams)")
      }
      if limits.maxNewStreamsPerSecond != nil { state.tokens -= 1 }
      state.open += 1
      state.perNode[nodeID, default: 0] += 1
      return nil
    }
  }

  func release(_ nodeID: String) {
    state.withLock { state in
      state.open -= 1
      let left = state.perNode[nodeID, default: 1] - 1
      state.perNode[nodeID] = left > 0 ? left : nil
    }
  }

  /// Open streams now.
  public var openStreams: Int { state.withLock { $0.open } }
}
