import Synchronization

/// What one simulated Envoy saw; timestamps are `monotonicNanos()`, 0 when it has not happened.
struct ClientStats: Sendable {
  var startedAt: UInt64 = 0
  var firstResponseAt: UInt64 = 0
  /// Every type subscribed so far has been answered (and ACKed), listeners included.
  var readyAt: UInt64 = 0
  var lastResponseAt: UInt64 = 0
  var responses = 0
  var bytes = 0
  var subscribed: UInt8 = 0
  var received: UInt8 = 0
  /// Since the fleet's mark (a change being measured).
  var afterMark = AfterMark()
  var error: String?
  var ended = false

  struct AfterMark: Sendable {
    var first: UInt64 = 0
    var firstType: XDSType?
    var last: UInt64 = 0
    var responses = 0
    var types: UInt8 = 0
  }
}

final class ClientProbe: Sendable {
  let stats = Mutex(ClientStats())
}

/// The state shared by every simulated Envoy of a run: counters the runner polls, and the mark
/// (the moment a change was applied) responses are measured from.
final class Fleet: Sendable {
  let probes: [ClientProbe]
  let mark = Atomic<UInt64>(0)
  let lastResponse = Atomic<UInt64>(0)
  let responses = Atomic<Int>(0)
  let bytes = Atomic<Int>(0)
  let ready = Atomic<Int>(0)
  let failed = Atomic<Int>(0)

  init(count: Int) {
    probes = (0..<count).map { _ in ClientProbe() }
  }

  /// Starts measuring a change: forgets what arrived after the previous mark.
  func setMark(_ time: UInt64) {
    for probe in probes { probe.stats.withLock { $0.afterMark = .init() } }
    mark.store(time, ordering: .sequentiallyConsistent)
  }

  func snapshot() -> [ClientStats] { probes.map { $0.stats.withLock { $0 } } }
}

/// Responses kept byte for byte by `record`: per client, in arrival order, each tagged with the
/// phase (0 before the fleet's mark, 1 after).
final class RecordingSink: Sendable {
  struct Entry: Sendable {
    var phase: UInt8
    var type: XDSType
    var bytes: [UInt8]
  }

  final class List: Sendable {
    let entries = Mutex<[Entry]>([])
  }

  let lists: [List]

  init(count: Int) { lists = (0..<count).map { _ in List() } }
}
