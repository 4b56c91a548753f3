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
/// The keys a translation keeps are the ones stored with their resources (``KeptResource/key``),
/// so looking a kept key up again compares by identity instead of walking the spec.
struct SpecKey: Hashable, Sendable {
  private let box: any SpecBox
  private let hash: Int

  init<Spec: ResourceSpec>(_ spec: Spec) {
    box = TypedSpecBox(spec)
    hash = spec.hashValue
  }

  static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.box === rhs.box || (lhs.hash == rhs.hash && lhs.box.isEqual(to: rhs.box))
  }
  func hash(into hasher: inout Hasher) { hasher.combine(hash) }
}

/// A type-erased spec whose equality needs no dynamic cast (`AnyHashable`'s cost most of a lookup).
protocol SpecBox: AnyObject, Sendable {
  func isEqual(to other: any SpecBox) -> Bool
}

private final class TypedSpecBox<Spec: ResourceSpec>: SpecBox {
  let spec: Spec
  init(_ spec: Spec) { self.spec = spec }

  func isEqual(to other: any SpecBox) -> Bool {
    guard ObjectIdentifier(type(of: other)) == ObjectIdentifier(Self.self) else { return false }
    return spec == unsafeDowncast(other, to: Self.self).spec
  }
}

/// An encoded resource with the key it is kept under, and how many proxies use it.
struct KeptResource: Sendable {
  let key: SpecKey
  let resource: EncodedResource
  var uses = 0
}

/// One proxy's translation with what it read, the specs it used and its upstream parts.
struct TranslatedProxy {
  var translation: ProxyTranslation
  var reads: ProxyReads
  var specs: [SpecKey]
  var parts: [UpstreamPart?]
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
    var resources: [SpecKey: KeptResource] = [:]
    var specs: [String: [SpecKey]] = [:]
    /// Each sidecar's explicit upstreams as last translated, for the next change to reuse.
    var upstreamParts: [String: [UpstreamPart?]] = [:]

    /// Replaces one proxy's result and bookkeeping (nil: the proxy is gone). Its specs are kept
    /// keys (from `built` or `resources`), so comparing them with the proxy's last ones is
    /// cheap, and a proxy whose reads and resources stayed the same costs no index update.
    mutating func record(_ node: String, _ result: TranslatedProxy?, built: [SpecKey: KeptResource]) {
      let translation = result?.translation
      let newReads = result?.reads
      let newSpecs = result?.specs ?? []
      upstreamParts[node] = result.flatMap { $0.parts.isEmpty ? nil : $0.parts }
      let oldReads = reads[node]
      let keptReads = translation == nil ? nil : newReads
      if oldReads != keptReads {
        if let oldReads {
          for service in oldReads.services { readers[service]?.remove(node) }
          everyServiceReaders.remove(node)
        }
        if let keptReads {
          for service in keptReads.services { readers[service, default: []].insert(node) }
          if keptReads.everyService { everyServiceReaders.insert(node) }
        }
      }
      let oldSpecs = specs[node] ?? []
      let keptSpecs = translation == nil ? [] : newSpecs
      if oldSpecs != keptSpecs {
        for key in keptSpecs {
          if let index = resources.index(forKey: key) {
            resources.values[index].uses += 1
          } else if var kept = built[key] {
            kept.uses = 1
            resources[kept.key] = kept
          }
        }
        for key in oldSpecs {
          guard let index = resources.index(forKey: key) else { continue }
          resources.values[index].uses -= 1
          if resources.values[index].uses <= 0 { resources.remove(at: index) }
        }
      }
      proxies[node] = translation
      reads[node] = keptReads
      specs[node] = translation == nil ? nil : keptSpecs
    }
  }

  let value = Mutex<Value?>(nil)

  public init() {}

  /// Encoded resources currently kept (for tests and benchmarks).
  public var resourceCount: Int { value.withLock { $0?.resources.count ?? 0 } }
}
