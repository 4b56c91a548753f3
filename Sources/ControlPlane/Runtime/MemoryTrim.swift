import CMemory
#if canImport(Glibc)
  import Glibc
#endif
import Logging
import ResourceCache

/// Gives the memory that departed clients held back to the system.
///
/// glibc's allocator keeps freed heap pages in its arenas: after a storm of connections ends the
/// process would stay at its peak size (seen: 140 MiB after 1,400 misbehaving clients left,
/// 57 MiB once trimmed). `malloc_trim` returns them; it runs once streams that went away have
/// stopped going, and once a change that replaced many snapshots has ended (the old ones are
/// freed, and without a trim each such change left the process a few MiB larger), checked every
/// second: the pause it costs a large heap, ~100 ms at 1.5 GB, then follows the event instead
/// of repeating through it or landing in later work; and at least once a minute.
enum MemoryTrim {
  /// Replaced snapshots that make a change worth a trim once it has ended.
  static let wideChange = 1_000

  static func run(watching cache: SnapshotCache, logger: Logger) async {
    var streams = cache.watcherCount
    var replaced = cache.replacementCount
    var departed = false
    var churned = 0
    var quiet = Duration.zero
    while !Task.isCancelled {
      try? await Task.sleep(for: .seconds(1))
      quiet += .seconds(1)
      let now = cache.watcherCount
      let replacements = cache.replacementCount
      let leaving = now < streams
      let changing = replacements > replaced
      if leaving { departed = true }
      churned += replacements - replaced
      if (departed && !leaving) || (churned >= wideChange && !changing) || quiet >= .seconds(60) {
        trim(logger)
        departed = false
        churned = 0
        quiet = .zero
      } else if !changing && churned < wideChange {
        churned = 0
      }
      streams = now
      replaced = replacements
    }
  }

  private static func trim(_ logger: Logger) {
    let before = residentKiB()
    _ = lambda_xds_trim_heap()
    logger.debug("memory trimmed", metadata: ["rss_kib_before": "\(before)", "rss_kib_after": "\(residentKiB())"])
  }

  /// Resident memory from /proc/self/statm (pages), in KiB; 0 where there is no /proc.
  static func residentKiB() -> Int {
    #if canImport(Glibc)
      guard let file = fopen("/proc/self/statm", "r") else { return 0 }
      defer { fclose(file) }
      var size = 0
      var resident = 0
      guard withUnsafeMutablePointer(to: &size, { size in
        withUnsafeMutablePointer(to: &resident) { resident in
          withVaList([size, resident]) { vfscanf(file, "%ld %ld", $0) }
        }
      }) == 2 else { return 0 }
      return resident * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    #else
      return 0
    #endif
  }
}
