import Synchronization

/// The current snapshot of every proxy, by Envoy node id, and a feed of changes per node.
///
/// The cache sits between configuration sources and the ADS streams: the protocol side never
/// knows where a snapshot came from. Setting a snapshot equal to the current one is a no-op, so
/// a source may republish freely without causing pushes.
public final class SnapshotCache: Sendable {
  private struct State {
    var snapshots: [String: Snapshot] = [:]
    var watchers: [String: [Int: @Sendable (Snapshot) -> Void]] = [:]
    var nextWatcherID = 0
    /// The number of continuations in `watchers`, kept as they come and go (read every second).
    var watcherCount = 0
    /// How many times a node was given a snapshot different from the one it had (or its first).
    var replacements = 0
  }

  private let state = Mutex(State())

  public init() {}

  /// Stores the snapshot for a node and notifies its streams.
  /// - Returns: false when the node already had an equal snapshot (nothing is pushed).
  @discardableResult
  public func set(_ snapshot: Snapshot, for nodeID: String) -> Bool {
    state.withLock { state in
      if state.snapshots[nodeID] == snapshot { return false }
      state.snapshots[nodeID] = snapshot
      state.replacements += 1
      // Under the lock, so two sets of one node reach its watchers in order.
      for deliver in state.watchers[nodeID, default: [:]].values { deliver(snapshot) }
      return true
    }
  }

  /// Forgets a node. Connected streams keep what they were sent: a proxy's configuration is
  /// never emptied because its source went away.
  public func remove(nodeID: String) {
    state.withLock { _ = $0.snapshots.removeValue(forKey: nodeID) }
  }

  public func snapshot(for nodeID: String) -> Snapshot? {
    state.withLock { $0.snapshots[nodeID] }
  }

  public var nodeIDs: [String] {
    state.withLock { $0.snapshots.keys.sorted() }
  }

  /// Hands `deliver` the node's current snapshot (if any), then every later one, until the
  /// returned function is called. It runs on the setter's thread under the cache's lock, so it
  /// must only hand the snapshot on (an ADS stream puts it in its inbox, where a newer one
  /// replaces it): a stream needs no task of its own to wait for snapshots.
  public func watch(_ nodeID: String, _ deliver: @escaping @Sendable (Snapshot) -> Void) -> @Sendable () -> Void {
    let id = state.withLock { state in
      let id = state.nextWatcherID
      state.nextWatcherID += 1
      state.watchers[nodeID, default: [:]][id] = deliver
      state.watcherCount += 1
      if let current = state.snapshots[nodeID] { deliver(current) }
      return id
    }
    return { [weak self] in
      self?.state.withLock { state in
        if state.watchers[nodeID]?.removeValue(forKey: id) != nil { state.watcherCount -= 1 }
        if state.watchers[nodeID]?.isEmpty == true { state.watchers[nodeID] = nil }
      }
    }
  }

  /// The node's current snapshot (if any) followed by every later one. Only the newest
  /// undelivered snapshot is kept: a slow reader skips intermediate states instead of queueing.
  public func updates(for nodeID: String) -> AsyncStream<Snapshot> {
    let (stream, continuation) = AsyncStream.makeStream(
      of: Snapshot.self, bufferingPolicy: .bufferingNewest(1))
    let stop = watch(nodeID) { continuation.yield($0) }
    continuation.onTermination = { _ in stop() }
    return stream
  }

  /// How many different snapshots were set so far (a change's reach, for the memory trim).
  public var replacementCount: Int {
    state.withLock { $0.replacements }
  }

  /// Number of open update feeds (one per connected stream); for tests and metrics.
  public var watcherCount: Int {
    state.withLock { $0.watcherCount }
  }
}
