import ResourceCache
import Synchronization

/// What every resource may depend on besides its own inputs; a change empties the memo.
struct TranslationEnvironment: Hashable {
  var options: TranslationOptions
  var datacenter: String
  var trustDomain: String?
}

/// A resource described by everything it is built from (besides the environment). Equal
/// descriptions encode to equal bytes, so a translation builds each once, every proxy that needs
/// it shares the buffer, and the memo keeps it for the next translation.
protocol ResourceSpec: Hashable, Sendable {
  func resource(in environment: TranslationEnvironment) throws -> EncodedResource
}

/// A spec as a dictionary key of mixed spec types.
struct SpecKey: Hashable, @unchecked Sendable {
  // Unchecked: it only ever holds a `ResourceSpec`, which is Sendable.
  let spec: AnyHashable

  init(_ spec: some ResourceSpec) { self.spec = AnyHashable(spec) }
}

/// Encoded resources kept from one translation to the next, keyed by their ``ResourceSpec``, so a
/// catalog change re-encodes only what it touched. Output is identical with or without a memo;
/// entries a translation did not use are dropped after it.
public final class TranslationMemo: Sendable {
  private struct State {
    var entries: [SpecKey: EncodedResource] = [:]
    var environment: TranslationEnvironment?
  }

  private let state = Mutex(State())

  public init() {}

  public var count: Int { state.withLock { $0.entries.count } }

  /// The entries valid in this environment (empties the memo if it changed).
  func entries(for environment: TranslationEnvironment) -> [SpecKey: EncodedResource] {
    state.withLock { state in
      if state.environment != environment {
        state.entries = [:]
        state.environment = environment
      }
      return state.entries
    }
  }

  /// Replaces the entries with those the last translation used.
  func keep(_ entries: [SpecKey: EncodedResource]) {
    state.withLock { $0.entries = entries }
  }
}
