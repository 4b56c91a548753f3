public import ConsulCatalog
import ResourceCache
import Synchronization

/// Encoded resources kept from one translation to the next, keyed by everything they are built
/// from, so a catalog change re-encodes only what it touched. Output is identical with or
/// without a memo; entries a translation did not use are dropped after it.
public final class TranslationMemo: Sendable {
  private struct State {
    var entries: [SharedKey: EncodedResource] = [:]
    var context: Context?
  }

  /// What every entry also depends on; a change empties the memo.
  struct Context: Equatable {
    var options: TranslationOptions
    var datacenter: String
    var trustDomain: String?
  }

  private let state = Mutex(State())

  public init() {}

  public var count: Int { state.withLock { $0.entries.count } }

  /// The entries valid for this context (empties the memo if the context changed).
  func entries(for context: Context) -> [SharedKey: EncodedResource] {
    state.withLock { state in
      if state.context != context {
        state.entries = [:]
        state.context = context
      }
      return state.entries
    }
  }

  /// Replaces the entries with those the last translation used.
  func keep(_ entries: [SharedKey: EncodedResource]) {
    state.withLock { $0.entries = entries }
  }
}

/// A shared resource and every input it is built from (besides the memo's context).
enum SharedKey: Hashable {
  case lambdaCluster(service: String, function: LambdaFunction)
  case directListener(Upstream, function: LambdaFunction)
  case gatedListener(Upstream)
  case meshCluster(service: String, caller: String)
  case meshEndpoints(service: String, gateways: [ServiceInstance])
  case gatewayRoutes(GatewayListener.Chain)
  case gatewayListener(address: String, port: Int, chains: [GatewayListener.Chain])
  case roots(pem: String)
  case leaf(service: String, MeshCertificates.Leaf)
}
