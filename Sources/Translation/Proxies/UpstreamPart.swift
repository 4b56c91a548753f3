import ConsulCatalog

/// What one explicit upstream of a sidecar added to its proxy, with everything that decided it,
/// so that a change which touches none of that adds the same again without translating it: a
/// change of one service a whole mesh calls re-translates each caller's upstream to it, not
/// every caller's every upstream.
///
/// A part depends on its upstream (the proxy's registration, unchanged unless the change names
/// the proxy), on the proxy's own service (read before any part), on the services it read, and
/// on filters earlier parts left in the proxy's ``UpstreamCache`` (a part that took one, or added
/// a resource the proxy already had, is always translated again). A replayed part puts its
/// filters back in the cache where someone after it may take them (another upstream to the same
/// service, the transparent proxy); elsewhere they are not kept.
struct UpstreamPart: Sendable {
  let added: ProxyBuilder.Added
  let reads: Set<String>
  let specs: [SpecKey]
  let filters: [(String, UpstreamFilter?)]
  /// Whether it gave the upstream a listener in this datacenter (``ServiceInstance`` names a
  /// local service the transparent proxy then leaves out).
  let listened: Bool
  let reusable: Bool
}

extension TranslationContext {
  /// Upstream `index` of `sidecar`: the last translation's part when nothing it depends on
  /// changed, else `body` run and recorded. `body` returns whether it listened locally.
  func upstreamPart(
    _ index: Int, of sidecar: Sidecar, reusingAfter proxyReads: Set<String>, keepingFilters: Bool, _ cache: inout UpstreamCache,
    _ builder: inout ProxyBuilder, _ body: (inout UpstreamCache, inout ProxyBuilder) -> Bool
  ) -> Bool {
    let node = sidecar.proxy.id
    if let changed, !changed.proxies.contains(node), proxyReads.isDisjoint(with: changed.services),
      let parts = previousParts[node], index < parts.count, let part = parts[index], part.reusable,
      part.reads.isDisjoint(with: changed.services)
    {
      builder.replay(part.added)
      reads.services.formUnion(part.reads)
      specs += part.specs
      for (key, filter) in part.filters { cache.set(filter, for: key) }
      record(part, at: index)
      return part.listened
    }
    let outer = reads
    reads = ProxyReads()
    let (specMark, filterMark, hits) = (specs.count, cache.added.count, cache.hits)
    let (listened, added) = builder.recording { body(&cache, &$0) }
    let part = UpstreamPart(
      added: added, reads: reads.services, specs: Array(specs[specMark...]),
      filters: keepingFilters ? cache.added[filterMark...].map { ($0, cache.filters[$0] ?? nil) } : [], listened: listened,
      reusable: !added.repeated && cache.hits == hits && !reads.everyService)
    reads.services.formUnion(outer.services)
    reads.everyService = reads.everyService || outer.everyService
    record(part, at: index)
    return listened
  }

  private func record(_ part: UpstreamPart, at index: Int) {
    while parts.count < index { parts.append(nil) }
    parts.append(part)
  }
}
