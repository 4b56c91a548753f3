import Foundation

/// Watches a catalog file and publishes a snapshot, with what changed, for every successful,
/// changed edit.
///
/// The file is read when inotify reports a write or a rename in its directory (polling only
/// where inotify is unavailable, plus a slow safety-net poll, which reads only when the file's
/// identity, size or modification time moved), and parsed again only where its text changed
/// (``CatalogFileReader``). A broken edit is reported through `onError` and the last good
/// snapshot stays published; an edit that changes nothing publishes nothing.
public struct CatalogFileWatcher: Sendable {
  public var path: String
  public var pollInterval: Duration

  public init(path: String, pollInterval: Duration = .milliseconds(250)) {
    self.path = path
    self.pollInterval = pollInterval
  }

  /// Watches until the task is cancelled. The first call of `publish` carries the file's current
  /// content (unless it is broken at start; then `onError` is called instead).
  public func run(
    publish: (CatalogSnapshot, CatalogChange) async -> Void, onError: (CatalogError) async -> Void
  ) async {
    var reader = CatalogFileReader(name: path)
    var lastStamp: FileStamp?
    await FileChangeMonitor(path: path, pollInterval: pollInterval).watch { wake in
      // Two writes within the file system's timestamp granularity can leave the stamp as it
      // was, so an event always reads; a poll tick only when the stamp moved.
      let stamp = FileStamp(path: path)
      guard wake == .event || stamp != lastStamp else { return }
      lastStamp = stamp
      do {
        let data: Data
        do {
          data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
          throw CatalogError("cannot read catalog file \(path): \(error.localizedDescription)")
        }
        if let (snapshot, change) = try reader.read(data) { await publish(snapshot, change) }
      } catch let error as CatalogError {
        await onError(error)
      } catch {
        await onError(CatalogError("\(error)"))
      }
    }
  }
}

/// What tells a file's versions apart without reading it: device, inode (a replaced file is a
/// new inode), size and modification time to the nanosecond.
struct FileStamp: Equatable {
  var device: UInt64 = 0
  var inode: UInt64 = 0
  var size: Int64 = -1
  var seconds = 0
  var nanoseconds = 0

  init(path: String) {
    var info = stat()
    guard stat(path, &info) == 0 else { return }
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
    size = Int64(info.st_size)
    seconds = Int(info.st_mtim.tv_sec)
    nanoseconds = Int(info.st_mtim.tv_nsec)
  }
}
