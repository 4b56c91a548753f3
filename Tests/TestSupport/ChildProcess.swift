public import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// A child process started with `posix_spawn`. Foundation's `Process.run()` on Linux (Swift
/// 6.3.1) intermittently crashes while it lists /proc/self/fd (an over-read of `d_name`,
/// swift-corelibs-foundation#5472), which took down a whole test run; this spawns without that
/// listing: glibc's `closefrom` action closes every inherited descriptor above stderr.
/// The child starts with no blocked signals and default dispositions, as from a shell (a child of
/// the Swift test runner would otherwise inherit SIGTERM blocked and ignore a graceful stop).
public final class ChildProcess: @unchecked Sendable {
  /// Where a child's standard output or error goes.
  public enum Output {
    case null
    /// Appended to this file.
    case file(String)
    /// This descriptor (such as a pipe's write end), which the caller keeps and closes.
    case descriptor(Int32)
  }

  public let processIdentifier: pid_t
  private let lock = NSLock()
  private var waitStatus: Int32?

  public init(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    stdout: Output = .null, stderr: Output = .null
  ) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    for (fd, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
      switch output {
      case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
      case .file(let path):
        posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
      case .descriptor(let source): posix_spawn_file_actions_adddup2(&actions, source, fd)
      }
    }
    guard Self.addCloseFrom(&actions, 3) == 0 else { throw EnvoyError("posix_spawn_file_actions_addclosefrom_np failed") }

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    var allSignals = sigset_t()
    sigemptyset(&noSignals)
    sigfillset(&allSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let environment = environment ?? ProcessInfo.processInfo.environment
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid = pid_t()
    let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard result == 0 else {
      throw EnvoyError("cannot start \(executable): \(String(cString: strerror(result)))")
    }
    processIdentifier = pid
  }

  /// glibc (2.34+) declares it only for _GNU_SOURCE, which Swift's Glibc module does not set.
  private static let addCloseFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
      fatalError("glibc without posix_spawn_file_actions_addclosefrom_np (needs 2.34 or later)")
    }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
  }()

  /// Reaps the child without blocking once it has exited.
  public var isRunning: Bool {
    lock.withLock {
      guard waitStatus == nil else { return false }
      var status: Int32 = 0
      let reaped = waitpid(processIdentifier, &status, WNOHANG)
      if reaped == processIdentifier { waitStatus = status }
      return waitStatus == nil && reaped == 0
    }
  }

  public func waitUntilExit() {
    while isRunning { usleep(10_000) }
  }

  /// Whether it exited by itself (rather than by a signal).
  public var exitedNormally: Bool {
    waitUntilExit()
    return lock.withLock { waitStatus.map { $0 & 0x7f == 0 } ?? false }
  }

  /// The exit status, or the signal number when a signal ended it.
  public var terminationStatus: Int32 {
    waitUntilExit()
    return lock.withLock {
      guard let status = waitStatus else { return -1 }
      return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }
  }
}
