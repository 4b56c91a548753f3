import Dispatch

#if canImport(Glibc)
  import Glibc
#endif

/// Waits for process signals without unstructured tasks.
enum Signals {
  /// Returns when SIGINT or SIGTERM arrives, with its name.
  static func shutdown() async -> String {
    await first(of: [SIGINT, SIGTERM]) == SIGINT ? "SIGINT" : "SIGTERM"
  }

  /// Returns the first of `signals` delivered to the process.
  static func first(of signals: [Int32]) async -> Int32 {
    let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
    let sources = signals.map { number in
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number)
      source.setEventHandler { continuation.yield(number) }
      source.resume()
      return source
    }
    defer { sources.forEach { $0.cancel() } }
    for await number in stream { return number }
    return 0
  }
}
