public import ConsulCatalog
import Dispatch
public import Foundation
public import Logging
public import MeshIdentity
public import ResourceCache
import Synchronization
public import Translation

/// The data flow of `serve`: catalog snapshots (+ mesh certificates) -> translation -> per-proxy
/// snapshots in the cache.
///
/// Translation runs on a thread of its own, outside every lock readers take: token checks, the
/// admin API and `dump --server` read the last published state and never wait for a translation.
/// Inputs that arrive while one runs wait in an inbox where the newest catalog wins and changes
/// merge, so a burst costs one more translation, not one per change; `debounce` lets a burst
/// gather for at most that long after its first change before translating.
///
/// A proxy whose translation failed keeps its previous snapshot; a proxy that left the catalog is
/// forgotten by the cache but its connected Envoy keeps what it has. A proxy's first snapshot
/// waits (up to `certificateWait`) until the certificates of the services it presents have
/// arrived, so a sidecar never starts without its inbound listener or gated upstreams because
/// Consul's leaves came a moment after the catalog. Findings are logged when they appear and
/// when they clear, not on every catalog change.
public final class ConfigurationPipeline: Sendable {
  /// Makes the dev CA from the first catalog's trust domain (catalog-file mode); nil means the
  /// certificates come from Consul's CA (Consul mode).
  public typealias AuthorityFactory = @Sendable (_ trustDomain: String?) throws -> DevCertificateAuthority

  /// What readers see; replaced after each translation.
  private struct Published {
    var catalog: CatalogSnapshot?
    var translation: CatalogTranslation?
    var statistics = PipelineStatistics()
  }

  /// Inputs not translated yet: the newest catalog with every change since the last translation.
  private struct Inbox {
    var catalog: CatalogSnapshot?
    var change = CatalogChange()
    var certificates: MeshCertificates?
    var waiting = false
  }

  /// Owned by the translation thread (its lock is never contended).
  private struct Work {
    var catalog: CatalogSnapshot?
    var rotation: LeafRotation?
    /// From Consul's CA (Consul mode).
    var consulCertificates: MeshCertificates?
    var translation: CatalogTranslation?
    var pendingChange = CatalogChange.all
    /// What the last translation was given.
    var certificates = MeshCertificates.none
    /// Logged findings by node ("" for the routing plan's).
    var findings: [String: Set<Finding>] = [:]
    /// Proxies whose first snapshot waits for certificates, since when.
    var holding: [String: Date] = [:]
    /// Proxies that have been given a snapshot.
    var served: Set<String> = []
    /// Current findings by severity (for the metric), kept as `findings` changes.
    var findingCounts: [Finding.Severity: Int] = [:]
    /// Each service's leaf as last exported to the expiry metric.
    var exportedLeaves: [String: MeshCertificates.Leaf] = [:]
  }

  let translator: Translator
  let cache: SnapshotCache
  let logger: Logger
  let makeAuthority: AuthorityFactory?
  let leafLifetime: TimeInterval
  /// Where dev CA leaves are kept across restarts (`--data-dir`).
  let leafStore: URL?
  let certificateWait: TimeInterval
  /// How long a burst of changes may gather before it is translated (0: translate at once).
  public let debounce: Duration
  let metrics: ServerMetrics?

  private let published = Mutex(Published())
  private let inbox = Mutex(Inbox())
  private let work = Mutex(Work())
  private let translationState = TranslationState()
  private let worker = DispatchQueue(label: "lambda-xds.translation", qos: .userInitiated)
  private let wake: AsyncStream<Void>
  private let wakeContinuation: AsyncStream<Void>.Continuation

  public init(
    translator: Translator, cache: SnapshotCache, makeAuthority: AuthorityFactory?, leafLifetime: TimeInterval,
    leafStore: URL? = nil, certificateWait: TimeInterval = 10, debounce: Duration = .zero,
    metrics: ServerMetrics? = nil, logger: Logger
  ) {
    self.metrics = metrics
    self.leafStore = leafStore
    self.translator = translator
    self.cache = cache
    self.makeAuthority = makeAuthority
    self.leafLifetime = leafLifetime
    self.certificateWait = certificateWait
    self.debounce = debounce
    self.logger = logger
    (wake, wakeContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    published.withLock { $0.statistics.debounceMilliseconds = debounce.milliseconds }
  }

  /// The service whose identity a proxy acts for (a sidecar's destination service, a gateway's
  /// own name): what a token must be allowed to write. nil for a node not in the catalog.
  public func identity(ofProxy nodeID: String) -> String? {
    guard let proxy = published.withLock({ $0.catalog?.proxies[nodeID] }) else { return nil }
    return proxy.proxy?.destinationServiceName ?? proxy.name
  }

  /// A proxy's kind in the catalog (`connect-proxy`, `terminating-gateway`, ...); nil if unknown.
  public func kind(ofProxy nodeID: String) -> String? {
    published.withLock { $0.catalog?.proxies[nodeID]?.kind.rawValue }
  }

  /// Whether a node id is a proxy of the catalog; nil before the first catalog.
  public func isProxy(_ nodeID: String) -> Bool? {
    published.withLock { $0.catalog.map { $0.proxies[nodeID] != nil } }
  }

  /// The latest translation, for inspection.
  public var latest: CatalogTranslation? { published.withLock { $0.translation } }

  /// Counters of the translation loop, for the admin API and benchmarks.
  public var statistics: PipelineStatistics { published.withLock { $0.statistics } }

  /// Translates every catalog the feed publishes (and the certificates given to
  /// ``submit(_:)-certificates``) until cancelled; renews dev CA leaves when due.
  public func run(_ feed: CatalogFeed) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        for await update in feed.updates { self.submit(update.snapshot, change: update.change) }
      }
      group.addTask { await self.translateSubmissions() }
      if makeAuthority != nil {
        group.addTask { await self.renewLeaves() }
      }
      group.addTask { await self.releaseHolds() }
      await group.next()
      group.cancelAll()
    }
  }

  /// Queues a catalog for translation; returns at once.
  public func submit(_ catalog: CatalogSnapshot, change: CatalogChange = .all) {
    inbox.withLock { inbox in
      inbox.catalog = catalog
      inbox.change.formUnion(change)
      inbox.waiting = true
    }
    published.withLock { $0.statistics.updatesReceived += 1 }
    metrics?.catalogReceived()
    wakeContinuation.yield()
  }

  /// Queues new certificates from Consul's CA (only secrets change); returns at once.
  public func submit(_ certificates: MeshCertificates) {
    inbox.withLock { inbox in
      inbox.certificates = certificates
      inbox.waiting = true
    }
    wakeContinuation.yield()
  }

  private func translateSubmissions() async {
    for await _ in wake {
      if debounce > .zero { try? await Task.sleep(for: debounce) }
      let input = inbox.withLock { inbox -> Inbox in
        defer { inbox = Inbox() }
        return inbox
      }
      guard input.waiting else { continue }
      await onWorker { work in
        if let catalog = input.catalog {
          work.catalog = catalog
          work.pendingChange.formUnion(input.change)
        }
        if let certificates = input.certificates { work.consulCertificates = certificates }
        self.refresh(&work, now: Date(), force: true)
      }
    }
  }

  /// Runs `body` on the translation thread, off the cooperative pool.
  private func onWorker(_ body: @escaping @Sendable (inout Work) -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      worker.async {
        self.work.withLock { body(&$0) }
        continuation.resume()
      }
    }
  }

  /// Wakes when the next leaf is due (at least every minute) and re-translates if any changed.
  private func renewLeaves() async {
    while !Task.isCancelled {
      let due = await onWorkerValue { $0.rotation?.nextRenewal } ?? Date().addingTimeInterval(60)
      let wait = min(max(due.timeIntervalSinceNow, 1), 60)
      try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
      await onWorker { self.refresh(&$0, now: Date(), force: false) }
    }
  }

  private func onWorkerValue<T: Sendable>(_ body: @escaping @Sendable (inout Work) -> T) async -> T {
    let box = Mutex<T?>(nil)
    await onWorker { work in
      let value = body(&work)
      box.withLock { $0 = value }
    }
    return box.withLock { $0! }
  }

  /// Serves proxies whose wait for certificates ran out (checked four times a second).
  private func releaseHolds() async {
    while !Task.isCancelled {
      try? await Task.sleep(for: .milliseconds(250))
      await onWorker { work in
        guard !work.holding.isEmpty, let translation = work.translation else { return }
        self.apply(translation, nodes: Set(work.holding.keys), &work, now: Date())
      }
    }
  }

  /// Re-translates the current catalog; on a renewal tick (`force` false) only if a leaf changed.
  private func refresh(_ work: inout Work, now: Date, force: Bool) {
    guard var catalog = work.catalog else { return }
    let started = ContinuousClock.now
    var certificates = work.consulCertificates ?? .none
    var renewed = false
    if let makeAuthority {
      do {
        if work.rotation == nil {
          work.rotation = LeafRotation(
            authority: try makeAuthority(catalog.trustDomain), lifetime: leafLifetime, store: leafStore)
        }
        renewed = try work.rotation!.apply(to: &catalog, change: force ? work.pendingChange : nil, now: now)
        if renewed {
          logger.info("mesh leaf certificates issued", metadata: ["services": "\(work.rotation!.leaves.count)"])
        }
        certificates = work.rotation!.certificates
      } catch {
        // Keep the last certificates: a CA hiccup must not strip proxies of their identity.
        certificates = work.rotation?.certificates ?? .none
        logger.error("dev CA failed; keeping the last mesh certificates", metadata: ["error": "\(error)"])
      }
    }
    guard force || renewed else { return }
    published.withLock { $0.statistics.translating = true }
    work.certificates = certificates
    let translation = translator.translate(
      catalog, certificates: certificates, change: work.pendingChange, state: translationState)
    work.pendingChange = CatalogChange()
    let nodes = translation.changed ?? Set(translation.proxies.keys).union(cache.nodeIDs)
    logFindings(translation, nodes: nodes, &work)
    // Before the cache changes: a stream served from this translation finds its proxy (kind,
    // identity) in the catalog.
    published.withLock { $0.catalog = catalog }
    let changed = apply(translation, nodes: nodes, &work, now: now)
    exportExpiries(&work)
    let elapsed = ContinuousClock.now - started
    metrics?.translated(after: elapsed)
    published.withLock { published in
      published.translation = translation
      published.statistics.recordTranslation(elapsed, translated: nodes.count, changed: changed)
      published.statistics.translating = false
    }
  }

  /// Puts the translation of `nodes` into the cache (the others did not change).
  /// - Returns: how many proxies' snapshots changed.
  @discardableResult
  private func apply(_ translation: CatalogTranslation, nodes: Set<String>, _ work: inout Work, now: Date) -> Int {
    var changed = 0
    for node in nodes {
      guard let proxy = translation.proxies[node] else {
        if cache.snapshot(for: node) != nil {
          cache.remove(nodeID: node)
          logger.info("proxy left the catalog; its Envoy keeps its last configuration", metadata: ["node": "\(node)"])
        }
        work.served.remove(node)
        work.holding[node] = nil
        continue
      }
      guard let snapshot = proxy.snapshot else { continue }
      if !work.served.contains(node), let catalog = work.catalog, let instance = catalog.proxies[node] {
        let missing = catalog.servicesNeedingLeaves(of: instance).filter { work.certificates.leaves[$0] == nil }
          .union(work.certificates.rootsPEM.isEmpty ? ["(the CA roots)"] : []).sorted()
        if !missing.isEmpty {
          let since = work.holding[node] ?? now
          work.holding[node] = since
          if now.timeIntervalSince(since) < certificateWait { continue }
          logger.warning(
            "proxy served before its mesh certificates arrived",
            metadata: ["node": "\(node)", "missing": "\(missing.joined(separator: ", "))", "waited_seconds": "\(certificateWait)"])
        }
      }
      work.holding[node] = nil
      work.served.insert(node)
      if cache.set(snapshot, for: node) { changed += 1 }
    }
    work.translation = translation
    if changed > 0 {
      logger.info(
        "configuration updated",
        metadata: [
          "proxies": "\(translation.proxies.count)", "changed": "\(changed)",
          "lambdas": "\(translation.plan.routes.count)",
        ])
    }
    return changed
  }

  /// Logs the findings of the translated `nodes` (and the plan's) that appeared or cleared.
  private func logFindings(_ translation: CatalogTranslation, nodes: Set<String>, _ work: inout Work) {
    func compare(_ key: String, _ current: Set<Finding>) {
      let previous = work.findings[key] ?? []
      guard current != previous else { return }
      for finding in previous { work.findingCounts[finding.severity, default: 0] -= 1 }
      for finding in current { work.findingCounts[finding.severity, default: 0] += 1 }
      for finding in current.subtracting(previous).sorted() {
        var metadata: Logger.Metadata = ["service": "\(finding.service)", "reason": "\(finding.message)"]
        if !key.isEmpty { metadata["node"] = "\(key)" }
        logger.log(level: finding.severity == .error ? .error : .warning, "service not fully configured", metadata: metadata)
      }
      for finding in previous.subtracting(current).sorted() {
        logger.info("finding cleared", metadata: ["finding": "\(key.isEmpty ? "plan" : key)|\(finding)"])
      }
      work.findings[key] = current.isEmpty ? nil : current
    }
    compare("", Set(translation.plan.findings))
    for node in nodes { compare(node, Set(translation.proxies[node]?.findings ?? [])) }
    metrics?.findings(errors: work.findingCounts[.error] ?? 0, warnings: work.findingCounts[.warning] ?? 0)
  }

  /// Exports each changed leaf's expiry (only leaves that changed are parsed).
  private func exportExpiries(_ work: inout Work) {
    guard let metrics, work.exportedLeaves != work.certificates.leaves else { return }
    for (service, leaf) in work.certificates.leaves where work.exportedLeaves[service] != leaf {
      metrics.certificateExpiry(service, CertificateExpiry.notAfter(pem: leaf.certificatePEM)?.timeIntervalSince1970)
    }
    for service in work.exportedLeaves.keys where work.certificates.leaves[service] == nil {
      metrics.certificateExpiry(service, nil)
    }
    work.exportedLeaves = work.certificates.leaves
  }
}

extension Duration {
  var milliseconds: Double {
    Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
  }

  var seconds: Double { milliseconds / 1000 }
}
