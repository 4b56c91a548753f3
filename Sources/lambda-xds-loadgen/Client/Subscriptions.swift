/// Envoy's subscription order, as one client's bookkeeping: clusters (wildcard) first, then the
/// endpoints of the EDS clusters they name and the secrets their TLS sockets name, listeners
/// (wildcard) once clusters and endpoints are in, then the routes and secrets the listeners
/// name. Used alike by state-of-the-world and delta clients.
struct Subscriptions {
  /// Clusters and listeners held, with what each makes the client subscribe to.
  var clusters: [String: References] = [:]
  var listeners: [String: References] = [:]
  /// Current named subscriptions of endpoints, routes and secrets.
  var named: [XDSType: Set<String>] = [:]
  var requested: UInt8 = 0
  var answered: UInt8 = 0
  var versions: [XDSType: String] = [:]
  var nonces: [XDSType: String] = [:]

  /// A subscription to send: the full list (state of the world) and the difference (delta).
  struct Change {
    var type: XDSType
    var names: [String]
    var added: [String]
    var removed: [String]
    var initial: Bool
  }

  var isReady: Bool {
    answered & XDSType.listener.bit != 0 && requested & ~answered == 0
  }

  mutating func start() -> Change {
    requested |= XDSType.cluster.bit
    return Change(type: .cluster, names: [], added: [], removed: [], initial: true)
  }

  /// State of the world: a full set of clusters or listeners replaces what was held.
  mutating func replace(_ type: XDSType, with resources: [(String, References)]) {
    let map = Dictionary(resources, uniquingKeysWith: { first, _ in first })
    if type == .cluster { clusters = map } else if type == .listener { listeners = map }
  }

  /// Delta: resources added or changed, and names removed.
  mutating func update(_ type: XDSType, with resources: [(String, References)], removed: [String]) {
    for (name, refs) in resources {
      if type == .cluster { clusters[name] = refs } else if type == .listener { listeners[name] = refs }
    }
    for name in removed {
      if type == .cluster { clusters[name] = nil } else if type == .listener { listeners[name] = nil }
    }
  }

  /// Records an answer of `type` and returns the subscriptions it leads to.
  mutating func answered(_ type: XDSType, version: String, nonce: String) -> [Change] {
    answered |= type.bit
    versions[type] = version
    nonces[type] = nonce
    var changes: [Change] = []
    guard type == .cluster || type == .listener || type == .endpoint else { return changes }

    var wanted: [XDSType: Set<String>] = [.endpoint: [], .route: [], .secret: []]
    for refs in clusters.values {
      wanted[.endpoint]!.formUnion(refs.endpoints)
      wanted[.secret]!.formUnion(refs.secrets)
    }
    for refs in listeners.values {
      wanted[.route]!.formUnion(refs.routes)
      wanted[.secret]!.formUnion(refs.secrets)
    }
    for named in [XDSType.endpoint, .secret, .route] {
      let want = wanted[named]!
      let have = self.named[named] ?? []
      // An empty list would mean "everything" in state of the world; keep what is held instead.
      guard want != have, !want.isEmpty else { continue }
      let initial = requested & named.bit == 0
      requested |= named.bit
      // New names are not in until the server has answered for them.
      if !want.isSubset(of: have) { answered &= ~named.bit }
      self.named[named] = want
      changes.append(
        Change(
          type: named, names: want.sorted(), added: want.subtracting(have).sorted(),
          removed: have.subtracting(want).sorted(), initial: initial))
    }
    // Listeners once clusters are in and their endpoints (if any) have been answered.
    let endpointsIn = requested & XDSType.endpoint.bit == 0 || answered & XDSType.endpoint.bit != 0
    if requested & XDSType.listener.bit == 0, answered & XDSType.cluster.bit != 0, endpointsIn {
      requested |= XDSType.listener.bit
      changes.append(Change(type: .listener, names: [], added: [], removed: [], initial: true))
    }
    return changes
  }
}
