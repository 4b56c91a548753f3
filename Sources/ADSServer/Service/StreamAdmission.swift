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
///
/// With several replicas, a replica above its fair share of the proxies refuses new streams and
/// ends some open ones (``shed(_:reason:)``), so proxies move to the others.
public final class StreamAdmission: Sendable {
  private struct State {
    var open = 0
    var perNode: [String: Int] = [:]
    var tokens: Double
    var refilled = ContinuousClock.now
    var fairShare: Int?
    var nextTicket = 0
    /// Each open stream's way to be ended by shedding.
    var shedders: [Int: AsyncStream<String>.Continuation] = [:]
  }

  /// An admitted stream: release it when it ends; `shed` yields a reason when it should end.
  struct Ticket: Sendable {
    let id: Int
    let shed: AsyncStream<String>
  }

  public let limits: StreamLimits
  private let state: Mutex<State>

  public init(_ limits: StreamLimits) {
    self.limits = limits
    state = Mutex(State(tokens: max(limits.maxNewStreamsPerSecond ?? 0, 1)))
  }

  /// Admits a stream for `nodeID` (then call ``release(_:)`` when it ends), or says why not.
  func admit(_ nodeID: String) -> Result<Ticket, Refused> {
    state.withLock { state -> Result<Ticket, Refused> in
      if let rate = limits.maxNewStreamsPerSecond {
        let now = ContinuousClock.now
        let elapsed = now - state.refilled
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        state.tokens = min(max(rate, 1), state.tokens + seconds * rate)
        state.refilled = now
        guard state.tokens >= 1 else {
          return .failure(Refused(.rate, "more than \(rate) new xDS streams per second (--max-new-streams-per-second); retry later"))
        }
      }
      if let max = limits.maxStreamsPerNode, state.perNode[nodeID, default: 0] >= max {
        return .failure(Refused(.maxStreamsPerNode, "node \(nodeID) already has \(max) open xDS streams (--max-streams-per-node)"))
      }
      if let max = limits.maxStreams, state.open >= max {
        return .failure(Refused(.maxStreams, "the server holds its maximum of \(max) xDS streams (--max-streams)"))
      }
      if let fair = state.fairShare, state.open >= fair {
        return .failure(Refused(.rebalance, Self.rebalanceMessage(open: state.open, fairShare: fair)))
      }
      if limits.maxNewStreamsPerSecond != nil { state.tokens -= 1 }
      state.open += 1
      state.perNode[nodeID, default: 0] += 1
      state.nextTicket += 1
      let (shed, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(1))
      state.shedders[state.nextTicket] = continuation
      return .success(Ticket(id: state.nextTicket, shed: shed))
    }
  }

  func release(_ nodeID: String, _ ticket: Ticket) {
    let shedder = state.withLock { state in
      state.open -= 1
      let left = state.perNode[nodeID, default: 1] - 1
      state.perNode[nodeID] = left > 0 ? left : nil
      return state.shedders.removeValue(forKey: ticket.id)
    }
    shedder?.finish()
  }

  /// A refusal: the metric's reason and the message for the client.
  struct Refused: Error {
    let reason: XDSMetrics.RefusalReason
    let message: String
    init(_ reason: XDSMetrics.RefusalReason, _ message: String) {
      self.reason = reason
      self.message = message
    }
  }

  /// This replica's fair share of streams (nil: no limit); above it new streams are refused.
  public func setFairShare(_ streams: Int?) { state.withLock { $0.fairShare = streams } }

  /// Ends `count` open streams (the oldest) with RESOURCE_EXHAUSTED: their proxies reconnect,
  /// and the refusal above the fair share sends them to another replica.
  /// - Returns: how many were asked to end.
  @discardableResult
  public func shed(_ count: Int) -> Int {
    let chosen = state.withLock { state -> [AsyncStream<String>.Continuation] in
      let ids = state.shedders.keys.sorted().prefix(max(0, count))
      let message = Self.rebalanceMessage(open: state.open, fairShare: state.fairShare ?? state.open)
      return ids.compactMap { id in
        let continuation = state.shedders.removeValue(forKey: id)
        continuation?.yield(message)
        return continuation
      }
    }
    for continuation in chosen { continuation.finish() }
    return chosen.count
  }

  static func rebalanceMessage(open: Int, fairShare: Int) -> String {
    "rebalancing: this replica holds \(open) xDS streams, above its fair share of \(fairShare); reconnect to another replica"
  }

  /// Open streams now.
  public var openStreams: Int { state.withLock { $0.open } }
}
