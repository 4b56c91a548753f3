/// Where a catalog source publishes snapshots and the translation reads them: an AsyncSequence
/// with latest-value-wins semantics. A slow reader skips intermediate catalogs instead of
/// queueing them, and an equal snapshot is never delivered twice in a row.
public final class CatalogFeed: Sendable {
  public let snapshots: AsyncStream<CatalogSnapshot>
  private let continuation: AsyncStream<CatalogSnapshot>.Continuation

  public init() {
    (snapshots, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
  }

  public func publish(_ snapshot: CatalogSnapshot) { continuation.yield(snapshot) }

  public func finish() { continuation.finish() }
}
