import Foundation

/// Watches a catalog file and publishes a snapshot for every successful, changed edit.
///
/// A broken edit is reported through `onError` and the last good snapshot stays published; an
/// unchanged file (or an edit that changes nothing) publishes nothing.
public struct CatalogFileWatcher: Sendable {
  public var path: String
  public var pollInterval: Duration

  public init(path: String, pollInterval: Duration = .milliseconds(250)) {
    self.path = path
    self.pollInterval = pollInterval
  }

  /// Polls the file until the task is cancelled. The first call of `publish` carries the file's
  /// current content (unless it is broken at start; then `onError` is called instead).
  public func run(
    publish: (CatalogSnapshot) async -> Void, onError: (CatalogError) async -> Void
  ) async {
    var lastStamp: [String]?
    var published: CatalogSnapshot?
    while !Task.isCancelled {
      let attributes = try? FileManager.default.attributesOfItem(atPath: path)
      let stamp = [
        "\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)",
        "\((attributes?[.size] as? NSNumber)?.intValue ?? -1)",
      ]
      if stamp != lastStamp {
        lastStamp = stamp
        do {
          let snapshot = try CatalogFile.snapshot(contentsOf: path)
          if snapshot != published {
            published = snapshot
            await publish(snapshot)
          }
        } catch {
          await onError(error)
        }
      }
      try? await Task.sleep(for: pollInterval)
    }
  }
}
