public import ResourceCache

/// The protocol logic of one ADS stream, as a pure state machine: requests and snapshots in,
/// responses and events out. No I/O, no clocks; the gRPC service drives it.
///
/// The rules it enforces (see ../shared/reference/xds-protocol.md):
/// - one response in flight per type; responses in push order (clusters, endpoints, secrets,
///   listeners, routes); listeners and routes are held until every cluster the client has is warm
///   (its endpoints acknowledged), so a route never points at a cluster that is still warming;
/// - a NACK leaves the client's state as it was and marks that content rejected: it is never sent
///   again on this stream, only newer content is (no resend loop);
/// - state of the world ignores stale nonces, sends clusters and listeners as complete sets and
///   answers the first wildcard request even when empty;
/// - delta honours subscription changes whatever their nonce, sends only what changed, reports
///   deletions and missing subscribed names in `removed_resources`, and starts from
///   `initial_resource_versions` on reconnect;
/// - a cluster that changed is followed by its endpoints even if they did not change (Envoy needs
///   them to finish warming the new cluster).
public struct ADSStreamState: Sendable {
  public let variant: XDSVariant
  private var types: [ResourceType: TypeSubscription] = [:]
  private var snapshot: Snapshot?
  private var nonceCounter = 0
  /// Counts changes to the client's clusters and endpoints, and `warm` is the last time
  /// ``isHeld(_:_:)`` found every cluster warm: while the snapshot's clusters and endpoints and
  /// the client's stay as they were, that answer stands (a stream that many snapshots pass
  /// through would otherwise look every cluster and its endpoints up for each listener push).
  private var warmthEpoch = 0
  private var warm: (clusters: String, endpoints: String, epoch: Int)?

  public init(variant: XDSVariant) {
    self.variant = variant
  }

  /// Handles one request from the client.
  public mutating func receive(_ request: ClientRequest) -> StreamStep {
    var step = StreamStep()
    let nonce = request.responseNonce

    if variant == .stateOfTheWorld, !nonce.isEmpty, nonce != types[request.type]?.lastNonce {
      step.events.append(.staleNonceIgnored(request.type, nonce: nonce))
      return step
    }
    // Taken out while it changes: a copy would share its tables with the map, and the first
    // change to one (every ACK changes `known`) would copy the whole table.
    var sub = types.removeValue(forKey: request.type) ?? TypeSubscription()
    if let inFlight = sub.inFlight, !nonce.isEmpty, nonce == inFlight.nonce {
      step.events.append(Self.settle(&sub, inFlight, type: request.type, error: request.errorMessage))
    }

    switch request.subscription {
    case .replace(let list):
      sub.replace(with: list, type: request.type)
    case .change(let subscribe, let unsubscribe):
      sub.change(
        subscribe: subscribe, unsubscribe: unsubscribe, type: request.type,
        isFirst: !sub.requested, initialVersions: request.initialVersions)
    }
    sub.requested = true
    types[request.type] = sub
    if request.type == .cluster || request.type == .endpoint { warmthEpoch += 1 }
    step.responses = pump()
    return step
  }

  /// Handles a new snapshot for this stream's node.
  public mutating func receive(_ snapshot: Snapshot) -> StreamStep {
    self.snapshot = snapshot
    return StreamStep(responses: pump())
  }

  /// Applies an ACK or NACK to the response in flight.
  private static func settle(
    _ sub: inout TypeSubscription, _ inFlight: TypeSubscription.InFlight, type: ResourceType,
    error: String?
  ) -> StreamEvent {
    sub.inFlight = nil
    if let error {
      for (name, version) in inFlight.sent { sub.rejected[name] = version }
      for name in inFlight.removed { sub.rejected[name] = "" }
      return .rejected(type, nonce: inFlight.nonce, version: inFlight.version, message: error)
    }
    for (name, version) in inFlight.sent {
      sub.known[name] = version
      sub.rejected[name] = nil
    }
    for name in inFlight.removed {
      sub.known[name] = nil
      sub.rejected[name] = nil
    }
    return .acknowledged(type, nonce: inFlight.nonce, version: inFlight.version)
  }

  /// Plans every response that may go out now, in push order.
  private mutating func pump() -> [PlannedResponse] {
    guard let snapshot else { return [] }
    var responses: [PlannedResponse] = []
    for type in ResourceType.allCases {
      // Read and changed where it is kept (a copy of a subscription retains all its tables).
      guard let index = types.index(forKey: type), types.values[index].requested, types.values[index].inFlight == nil,
        types.values[index].plannedVersion != snapshot.version(type) || !types.values[index].forced.isEmpty,
        !isHeld(type, snapshot)
      else { continue }
      let response = Self.plan(type, &types.values[index], snapshot, variant: variant, nonceCounter: &nonceCounter)
      types.values[index].plannedVersion = snapshot.version(type)
      guard let response else { continue }
      responses.append(response)
      if type == .cluster { refreshEndpoints(after: response) }
    }
    return responses
  }

  private static func plan(
    _ type: ResourceType, _ sub: inout TypeSubscription, _ snapshot: Snapshot, variant: XDSVariant,
    nonceCounter: inout Int
  )
    -> PlannedResponse?
  {
    let available = snapshot.resources(type)
    let desired = sub.wildcard ? available : available.filter { sub.names.contains($0.key) }
    let changed = desired.values.filter { resource in
      sub.forced.contains(resource.name)
        || (sub.known[resource.name] != resource.version
          && sub.rejected[resource.name] != resource.version)
    }
    var removed = sub.known.keys.filter { desired[$0] == nil && sub.rejected[$0] != "" }
    let fullState = variant == .stateOfTheWorld && type.isFullState
    if variant == .delta {
      // Subscribed names that do not exist: say so now rather than let the client time out.
      removed += sub.forced.filter { desired[$0] == nil && sub.known[$0] == nil }
    } else if !fullState {
      removed = []  // state of the world has no deletion for these types
    }
    let firstWildcardAnswer = !sub.answered && sub.wildcard
    guard !changed.isEmpty || !removed.isEmpty || firstWildcardAnswer else { return nil }

    let sent = fullState ? Array(desired.values) : changed
    let resources = sent.sorted { $0.name < $1.name }
    nonceCounter += 1
    let nonce = String(nonceCounter)
    let version = snapshot.version(type)
    sub.inFlight = .init(
      nonce: nonce, version: version,
      sent: Dictionary(uniqueKeysWithValues: resources.map { ($0.name, $0.version) }),
      removed: removed.sorted())
    sub.forced.removeAll()
    sub.lastNonce = nonce
    sub.answered = true
    return PlannedResponse(
      type: type, nonce: nonce, version: version, resources: resources,
      removed: variant == .delta ? removed.sorted() : [])
  }

  /// Envoy rebuilds a changed cluster and waits for a fresh endpoint response to warm it, even
  /// when the endpoints are the same; forget that the client holds them so they are sent again.
  private mutating func refreshEndpoints(after response: PlannedResponse) {
    guard let clusters = types[.cluster], var endpoints = types.removeValue(forKey: .endpoint) else { return }
    for cluster in response.resources where clusters.known[cluster.name] != cluster.version {
      for reference in cluster.references where reference.type == .endpoint {
        endpoints.known[reference.name] = nil
        endpoints.rejected[reference.name] = nil
        endpoints.plannedVersion = nil
      }
    }
    types[.endpoint] = endpoints
    warmthEpoch += 1
  }

  /// Listeners and routes wait while clusters or endpoints are in flight, or while a cluster the
  /// client holds still waits for its endpoints: a route must never reach a cluster that is not
  /// warm yet.
  private mutating func isHeld(_ type: ResourceType, _ snapshot: Snapshot) -> Bool {
    guard type == .listener || type == .route else { return false }
    if types[.cluster]?.inFlight != nil || types[.endpoint]?.inFlight != nil { return true }
    let now = (clusters: snapshot.version(.cluster), endpoints: snapshot.version(.endpoint), epoch: warmthEpoch)
    if let warm, warm == now { return false }
    if clustersWaitForEndpoints(snapshot) { return true }
    warm = now
    return false
  }

  /// Whether a cluster the client holds, as the snapshot has it, waits for endpoints the client
  /// does not hold yet.
  private func clustersWaitForEndpoints(_ snapshot: Snapshot) -> Bool {
    guard let clusters = types[.cluster] else { return false }
    let endpoints = types[.endpoint] ?? TypeSubscription()
    for (name, version) in clusters.known {
      guard let cluster = snapshot[ResourceKey(.cluster, name)], cluster.version == version else {
        continue
      }
      for reference in cluster.references where reference.type == .endpoint {
        guard let wanted = snapshot[reference]?.version else { continue }
        if endpoints.known[reference.name] != wanted && endpoints.rejected[reference.name] != wanted
        {
          return true
        }
      }
    }
    return false
  }

  /// What the client holds of a type, for status reporting and tests.
  public func known(_ type: ResourceType) -> [String: String] { types[type]?.known ?? [:] }

  /// Whether a response of this type awaits an answer.
  public func isInFlight(_ type: ResourceType) -> Bool { types[type]?.inFlight != nil }
}
