import ConsulCatalog
import Foundation
import Logging
import MeshIdentity
import ResourceCache
import Synchronization
import Translation

/// The data flow of `serve`: catalog snapshots (+ mesh certificates) -> translation -> per-proxy
/// snapshots in the cache.
///
/// A proxy whose translation failed keeps its previous snapshot; a proxy that left the catalog is
/// forgotten by the cache but its connected Envoy keeps what it has. A proxy's first snapshot
/// waits (up to `certificateWait`) until the certificates of the services it presents have
/// arrived, so a sidecar never starts without its inbound listener or gated upstreams because
/// Consul's leaves came a moment after the catalog. Findings are logged when they appear and
/// when they clear, not on every catalog change.
final class ConfigurationPipeline: Sendable {
  /// Makes the dev CA from the first catalog's trust domain (catalog-file mode); nil means no
  /// mesh certificates yet (Consul mode until Consul's CA is wired: gated services report it).
  typealias AuthorityFactory = @Sendable (_ trustDomain: String?) throws -> DevCertificateAuthority

  private struct State {
    var catalog: CatalogSnapshot?
    var rotation: LeafRotation?
    /// From Consul's CA (Consul mode).
    var consulCertificates: MeshCertificates?
    var translation: CatalogTranslation?
    /// What changed in the catalog since the last translation.
    var pendingChange = CatalogChange.all
    /// What the last translation was given.
    var certificates = MeshCertificates.none
    var findings: Set<String> = []
    /// Proxies whose first snapshot waits for certificates, since when.
    var holding: [String: Date] = [:]
    /// Proxies that have been given a snapshot.
    var served: Set<String> = []
  }

  let translator: Translator
  let cache: SnapshotCache
  let logger: Logger
  let makeAuthority: AuthorityFactory?
  let leafLifetime: TimeInterval
  /// Where dev CA leaves are kept across restarts (`--data-dir`).
  let leafStore: URL?
  let certificateWait: TimeInterval
  private let state = Mutex(State())
  private let translationState = TranslationState()

  init(
    translator: Translator, cache: SnapshotCache, makeAuthority: AuthorityFactory?, leafLifetime: TimeInterval,
    leafStore: URL? = nil, certificateWait: TimeInterval = 10, logger: Logger
  ) {
    self.leafStore = leafStore
    self.translator = translator
    self.cache = cache
    self.makeAuthority = makeAuthority
    self.leafLifetime = leafLifetime
    self.certificateWait = certificateWait
    self.logger = logger
  }

  /// The service whose identity a proxy acts for (a sidecar's destination service, a gateway's
  /// own name): what a token must be allowed to write. nil for a node not in the catalog.
  func identity(ofProxy nodeID: String) -> String? {
    state.withLock { state in
      guard let proxy = state.catalog?.proxies[nodeID] else { return nil }
      return proxy.proxy?.destinationServiceName ?? proxy.name
    }
  }

  /// The latest translation, for inspection.
  var latest: CatalogTranslation? { state.withLock { $0.translation } }

  func run(_ feed: CatalogFeed) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        for await update in feed.updates { self.update(update.snapshot, change: update.change) }
      }
      if makeAuthority != nil {
        group.addTask { await self.renewLeaves() }
      }
      group.addTask { await self.releaseHolds() }
      await group.next()
      group.cancelAll()
    }
  }

  func update(_ catalog: CatalogSnapshot, change: CatalogChange = .all) {
    state.withLock { state in
      state.catalog = catalog
      state.pendingChange.formUnion(change)
      refresh(&state, now: Date(), force: true)
    }
  }

  /// New certificates from Consul's CA: re-translate (only secrets change).
  func update(_ certificates: MeshCertificates) {
    state.withLock { state in
      state.consulCertificates = certificates
      refresh(&state, now: Date(), force: true)
    }
  }

  /// Wakes when the next leaf is due (at least every minute) and re-translates if any changed.
  private func renewLeaves() async {
    while !Task.isCancelled {
      let due = state.withLock { $0.rotation?.nextRenewal } ?? Date().addingTimeInterval(60)
      let wait = min(max(due.timeIntervalSinceNow, 1), 60)
      try? await Task.sleep(for: .milliseconds(Int(wait * 1000)))
      state.withLock { refresh(&$0, now: Date(), force: false) }
    }
  }

  /// Serves proxies whose wait for certificates ran out (checked four times a second).
  private func releaseHolds() async {
    while !Task.isCancelled {
      try? await Task.sleep(for: .milliseconds(250))
      state.withLock { state in
        guard !state.holding.isEmpty, let translation = state.translation else { return }
        apply(translation, nodes: Set(state.holding.keys), &state, now: Date())
      }
    }
  }

  /// Re-translates the current catalog; on a renewal tick (`force` false) only if a leaf changed.
  private func refresh(_ state: inout State, now: Date, force: Bool) {
    guard var catalog = state.catalog else { return }
    var certificates = state.consulCertificates ?? .none
    var renewed = false
    if let makeAuthority {
      do {
        if state.rotation == nil {
          state.rotation = LeafRotation(
            authority: try makeAuthority(catalog.trustDomain), lifetime: leafLifetime, store: leafStore)
        }
        renewed = try state.rotation!.apply(to: &catalog, now: now)
        if renewed {
          logger.info("mesh leaf certificates issued", metadata: ["services": "\(state.rotation!.leaves.count)"])
        }
        certificates = state.rotation!.certificates
      } catch {
        // Keep the last certificates: a CA hiccup must not strip proxies of their identity.
        certificates = state.rotation?.certificates ?? .none
        logger.error("dev CA failed; keeping the last mesh certificates", metadata: ["error": "\(error)"])
      }
    }
    guard force || renewed else { return }
    state.certificates = certificates
    let translation = translator.translate(
      catalog, certificates: certificates, change: state.pendingChange, state: translationState)
    state.pendingChange = CatalogChange()
    apply(translation, nodes: translation.changed ?? Set(translation.proxies.keys).union(cache.nodeIDs), &state, now: now)
  }

  /// Puts the translation of `nodes` into the cache (the others did not change).
  private func apply(_ translation: CatalogTranslation, nodes: Set<String>, _ state: inout State, now: Date) {
    var changed = 0
    for node in nodes {
      guard let proxy = translation.proxies[node] else {
        if cache.snapshot(for: node) != nil {
          cache.remove(nodeID: node)
          logger.info("proxy left the catalog; its Envoy keeps its last configuration", metadata: ["node": "\(node)"])
        }
        state.served.remove(node)
        state.holding[node] = nil
        continue
      }
      guard let snapshot = proxy.snapshot else { continue }
      if !state.served.contains(node), let catalog = state.catalog, let instance = catalog.proxies[node] {
        let missing = catalog.servicesNeedingLeaves(of: instance).filter { state.certificates.leaves[$0] == nil }
          .union(state.certificates.rootsPEM.isEmpty ? ["(the CA roots)"] : []).sorted()
        if !missing.isEmpty {
          let since = state.holding[node] ?? now
          state.holding[node] = since
          if now.timeIntervalSince(since) < certificateWait { continue }
          logger.warning(
            "proxy served before its mesh certificates arrived",
            metadata: ["node": "\(node)", "missing": "\(missing.joined(separator: ", "))", "waited_seconds": "\(certificateWait)"])
        }
      }
      state.holding[node] = nil
      state.served.insert(node)
      if cache.set(snapshot, for: node) { changed += 1 }
    }
    logFindings(translation, &state.findings)
    state.translation = translation
    if changed > 0 {
      logger.info(
        "configuration updated",
        metadata: [
          "proxies": "\(translation.proxies.count)", "changed": "\(changed)",
          "lambdas": "\(translation.plan.routes.count)",
        ])
    }
  }

  private func logFindings(_ translation: CatalogTranslation, _ previous: inout Set<String>) {
    var current: [String: (Finding, String)] = [:]
    for finding in translation.plan.findings { current["plan|\(finding)"] = (finding, "") }
    for (node, proxy) in translation.proxies {
      for finding in proxy.findings { current["\(node)|\(finding)"] = (finding, node) }
    }
    for key in Set(current.keys).subtracting(previous).sorted() {
      let (finding, node) = current[key]!
      var metadata: Logger.Metadata = ["service": "\(finding.service)", "reason": "\(finding.message)"]
      if !node.isEmpty { metadata["node"] = "\(node)" }
      logger.log(level: finding.severity == .error ? .error : .warning, "service not fully configured", metadata: metadata)
    }
    for key in previous.subtracting(current.keys).sorted() {
      logger.info("finding cleared", metadata: ["finding": "\(key)"])
    }
    previous = Set(current.keys)
  }
}
