public import ConsulCatalog
import ResourceCache
import Synchronization

/// What every resource may depend on besides its own inputs; a change translates everything.
struct TranslationEnvironment: Hashable {
  var options: TranslationOptions
  var datacenter: String
  var trustDomain: String?
}

/// A resource described by everything it is built from (besides the environment). Equal
/// descriptions encode to equal bytes, so a translation builds each once, every proxy that needs
/// it shares the buffer, and the state keeps it for the next translation.
protocol ResourceSpec: Hashable, Sendable {
  func resource(in environment: TranslationEnvironment) throws -> EncodedResource
}

/// A spec as a dictionary key of mixed spec types. Hashed once: a spec (a gateway's every chain,
/// a listener's filters) is deep, and one key is looked up in several tables per translation.
struct SpecKey: Hashable, @unchecked Sendable {
  // Unchecked: it only ever holds a `ResourceSpec`, which is Sendable.
  let spec: AnyHashable
  private let hash: Int

  init(_ spec: some ResourceSpec) {
    self.spec = AnyHashable(spec)
    self.hash = spec.hashValue
  }

  static func == (lhs: Self, rhs: Self) -> Bool { lhs.hash == rhs.hash && lhs.spec == rhs.spec }
  func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// What a proxy's translation read of the catalog: a change to anything else leaves it as it is.
struct ProxyReads: Sendable, Equatable {
  var services: Set<String> = []
  /// Transparent proxies and `*`-linked gateways depend on the set of all services.
  var everyService = false
}

/// The last translation kept for the next one: every proxy's result, what it read, and the
/// encoded resources in use (counted, so one leaves when the last proxy stops using it).
///
/// With it, ``Translator/translate(_:certificates:change:state:)`` re-translates only the
/// proxies a ``CatalogChange`` touches and reuses the others' snapshots as they are; the result
/// is the same as a full translation.
public final class TranslationState: Sendable {
  struct Value {
    var environment: TranslationEnvironment
    var certificates: MeshCertificates
    var plan: LambdaRoutingPlan
    var proxies: [String: ProxyTranslation] = [:]
    var reads: [String: ProxyReads] = [:]
    /// Service -> the proxies that read it.
    var readers: [String: Set<String>] = [:]
    var everyServiceReaders: Set<String> = []
    var resources: [SpecKey: EncodedResource] = [:]
    var uses: [SpecKey: Int] = [:]
    var specs: [String: [SpecKey]] = [:]

    /// Replaces one proxy's result and bookkeeping.
    mutating func record(_ node: String, _ translation: ProxyTranslation?, reads newReads: ProxyReads?, specs newSpecs: [SpecKey], built: [SpecKey: EncodedResource]) {
      if let old = reads[node] {
        for service in old.services { readers[service]?.remove(node) }
        everyServiceReaders.remove(node)
      }
      for key in specs[node] ?? [] {
        uses[key, default: 1] -= 1
        if uses[key] == 0 {
          uses[key] = nil
          resources[key] = nil
        }
      }
      proxies[node] = translation
      reads[node] = newReads
      specs[node] = translation == nil ? nil : newSpecs
      guard translation != nil, let newReads else { return }
      for service in newReads.services { readers[service, default: []].insert(node) }
      if newReads.everyService { everyServiceReaders.insert(node) }
      for key in newSpecs {
        uses[key, default: 0] += 1
        if resources[key] == nil { resources[key] = built[key] }
      }
    }
  }

  let value = Mutex<Value?>(nil)

  public init() {}

  /// Encoded resources currently kept (for tests and benchmarks).
  public var resourceCount: Int { value.withLock { $0?.resources.count ?? 0 } }
}
