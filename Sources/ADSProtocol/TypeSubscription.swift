import ResourceCache

/// What one resource type's sub-stream has asked for and holds.
struct TypeSubscription {
  /// The client has sent at least one request for this type; nothing is pushed before that.
  var requested = false
  var wildcard = false
  var names: Set<String> = []
  /// State of the world: once a non-empty list was sent, an empty list means "nothing", not the
  /// legacy wildcard.
  var sentExplicitNames = false
  /// The client's view: name -> version it holds (ACKed, or declared on a delta reconnect).
  var known: [String: String] = [:]
  /// Content the client rejected: name -> version ("" = a deletion). Never sent again on this
  /// stream; a different version of the same name is.
  var rejected: [String: String] = [:]
  /// Names that must be sent (or reported missing) even if the client seems to hold them.
  var forced: Set<String> = []
  var inFlight: InFlight?
  var lastNonce: String?
  var answered = false
  /// The snapshot's version of this type when it was last planned, with the subscription and
  /// the client's state as they are since (answers to that plan keep it): planning the same
  /// version again would send nothing, so a stream that many snapshots and ACKs pass through
  /// plans only the types that changed. Anything else that edits the subscription clears it.
  var plannedVersion: String?

  struct InFlight {
    var nonce: String
    var version: String
    var sent: [String: String]
    var removed: [String]
  }

  func covers(_ name: String) -> Bool { wildcard || names.contains(name) }

  /// State of the world: the list is the whole subscription.
  mutating func replace(with list: [String], type: ResourceType) {
    let (oldNames, oldWildcard) = (names, wildcard)
    defer { if names != oldNames || wildcard != oldWildcard { plannedVersion = nil } }
    var newNames = Set(list)
    let wasWildcard = wildcard
    if type.isFullState {
      if list.isEmpty {
        wildcard = !sentExplicitNames
      } else {
        sentExplicitNames = true
        wildcard = newNames.remove("*") != nil
      }
    }
    // A name the wildcard already delivered is not new to the client.
    if !wasWildcard { forced.formUnion(newNames.subtracting(names)) }
    for dropped in names.subtracting(newNames) where !covers(dropped) || !type.isFullState {
      known[dropped] = nil
    }
    names = newNames
  }

  /// Delta: apply additions and removals. `isFirst` enables the legacy wildcard and lets
  /// `initialVersions` stand for what the client holds.
  mutating func change(
    subscribe: [String], unsubscribe: [String], type: ResourceType, isFirst: Bool,
    initialVersions: [String: String]
  ) {
    if isFirst || !subscribe.isEmpty || !unsubscribe.isEmpty { plannedVersion = nil }
    if isFirst {
      known = initialVersions
      if subscribe.isEmpty && type.isFullState { wildcard = true }
    }
    for name in subscribe {
      if name == "*" {
        wildcard = true
        continue
      }
      names.insert(name)
      if !(isFirst && initialVersions[name] != nil) { forced.insert(name) }
    }
    for name in unsubscribe {
      if name == "*" {
        wildcard = false
        known = known.filter { names.contains($0.key) }
        continue
      }
      names.remove(name)
      if wildcard {
        // Still covered: the client may have dropped it, so tell it again what exists.
        forced.insert(name)
      } else {
        known[name] = nil
        forced.remove(name)
      }
    }
  }
}
