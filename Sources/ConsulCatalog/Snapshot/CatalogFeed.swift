import Synchronization

/// A catalog snapshot and what changed since the last one its reader took.
public struct CatalogUpdate: Sendable {
  public var snapshot: CatalogSnapshot
  public var change: CatalogChange
}

/// Where a catalog source publishes snapshots and the translation reads them, newest first: a
/// slow reader skips intermediate catalogs instead of queueing them, and takes the union of
/// their changes with the newest, so nothing a skipped catalog changed is missed. An equal
/// snapshot is never delivered twice in a row.
public final class CatalogFeed: Sendable {
  private struct State {
    var published: CatalogSnapshot?
    var pending: CatalogUpdate?
    var finished = false
  }

  private let state = Mutex(State())
  private let signal: AsyncStream<Void>
  private let continuation: AsyncStream<Void>.Continuation

  public init() {
    (signal, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
  }

  /// Publishes a snapshot. A source that knows what changed passes `change`; otherwise the
  /// difference from the last snapshot is computed.
  public func publish(_ snapshot: CatalogSnapshot, change: CatalogChange? = nil) {
    let published = state.withLock { state -> Bool in
      guard snapshot != state.published else { return false }
      let difference = change ?? CatalogChange(from: state.published, to: snapshot)
      state.published = snapshot
      var merged = state.pending?.change ?? CatalogChange()
      merged.formUnion(difference)
      state.pending = CatalogUpdate(snapshot: snapshot, change: merged)
      return true
    }
    if published { continuation.yield() }
  }

  public func finish() {
    state.withLock { $0.finished = true }
    continuation.finish()
  }

  /// The newest update with every change since the last one taken; ends when the feed finishes.
  public var updates: Updates { Updates(feed: self) }

  public struct Updates: AsyncSequence, Sendable {
    let feed: CatalogFeed

    public struct AsyncIterator: AsyncIteratorProtocol {
      let feed: CatalogFeed
      var signals: AsyncStream<Void>.AsyncIterator

      public mutating func next() async -> CatalogUpdate? {
        while await signals.next() != nil {
          if let update = feed.state.withLock({ state -> CatalogUpdate? in
            defer { state.pending = nil }
            return state.pending
          }) {
            return update
          }
        }
        return nil
      }
    }

    public func makeAsyncIterator() -> AsyncIterator {
      AsyncIterator(feed: feed, signals: feed.signal.makeAsyncIterator())
    }
  }
}
