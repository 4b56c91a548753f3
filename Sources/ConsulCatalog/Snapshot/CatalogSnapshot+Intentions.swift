extension CatalogSnapshot {
  /// The intentions that judge callers of `destination`, in Consul's precedence: the service's
  /// own entry, and from the `*` entry only what the service's entry leaves open (its named
  /// sources when the service names no `*` source of its own, and its `*` source when the
  /// service has none). nil when no entry applies.
  public func effectiveIntentions(for destination: String) -> ServiceIntentions? {
    let own = intentions[destination]
    guard destination != "*", let wildcard = intentions["*"] else { return own }
    guard var result = own else { return wildcard }
    if result.source(named: "*") == nil {
      let named = Set(result.sources.map(\.name))
      result.sources += wildcard.sources.filter { !named.contains($0.name) }
      result.sources.sort { $0.name < $1.name }
    }
    return result
  }

  /// Whether `source` may call `destination` at all, as Consul decides which services a
  /// transparent proxy can reach: the most precise intention's action, an L7 intention counting
  /// as allow (some requests may pass), else the default.
  public func intentionAllows(source: String, destination: String, defaultAllow: Bool) -> Bool {
    guard let intentions = effectiveIntentions(for: destination),
      let match = intentions.source(named: source) ?? intentions.source(named: "*")
    else { return defaultAllow }
    return !match.isL4Deny
  }
}
