import Dispatch
#if canImport(Glibc)
  import Glibc
#endif

/// Wakes when a file may have changed: inotify on its directory (so an editor's or a deployment's
/// atomic replace — write a temporary file, rename it over — is seen as well as an in-place
/// write), with a slow poll as a safety net; where inotify is unavailable, a fast poll.
///
/// Only closed writes and renames wake it, not every `write(2)`, so a file is not read half
/// written. What changed is decided by the reader (the file's contents), never by the event.
struct FileChangeMonitor: Sendable {
  let path: String
  /// Between checks without inotify; with it, the safety net's period is 20 times this.
  let pollInterval: Duration

  /// Why the file should be looked at.
  enum Wake: Sendable {
    /// Something was written or renamed in its directory.
    case event
    /// A poll tick (or the start).
    case tick
  }

  /// Calls `body` once at start, then whenever the file may have changed, until cancelled. The
  /// poll runs as a child task; inotify's events arrive on a dispatch source.
  func watch(_ body: (Wake) async -> Void) async {
    let (stream, continuation) = AsyncStream.makeStream(of: Wake.self, bufferingPolicy: .bufferingNewest(1))
    continuation.yield(.tick)
    let watch = InotifyWatch(directoryOf: path) { continuation.yield(.event) }
    defer { watch?.cancel() }
    let period = watch == nil ? pollInterval : pollInterval * 20
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        while !Task.isCancelled {
          try? await Task.sleep(for: period)
          continuation.yield(.tick)
        }
      }
      for await wake in stream { await body(wake) }  // ends when the task is cancelled
      group.cancelAll()
    }
  }
}

/// One inotify instance watching one directory, read by a dispatch source (no thread of its own).
/// Unchecked: the source is only resumed in `init` and cancelled, which Dispatch allows from any
/// thread.
private final class InotifyWatch: @unchecked Sendable {
  private let source: any DispatchSourceRead

  init?(directoryOf path: String, onEvent: @escaping @Sendable () -> Void) {
    #if canImport(Glibc)
      let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
      let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
      guard descriptor >= 0 else { return nil }
      let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB)
      guard inotify_add_watch(descriptor, directory.isEmpty ? "/" : directory, mask) >= 0 else {
        close(descriptor)
        return nil
      }
      source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: .global(qos: .utility))
      source.setEventHandler {
        // Drain the queued events; which file they name does not matter (the reader checks).
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        onEvent()
      }
      source.setCancelHandler { close(descriptor) }
      source.resume()
    #else
      return nil
    #endif
  }

  func cancel() { source.cancel() }
}
