public import ConsulCatalog

/// How callers reach one Lambda service, decided from the catalog alone.
public enum LambdaRoute: Sendable, Equatable {
  /// From the caller's own sidecar, which signs with its own AWS credentials.
  case direct(LambdaFunction)
  /// Through terminating gateways (mTLS from the sidecar, intentions and signing at the gateway).
  /// `endpoints` are the healthy gateway instances sidecars send to.
  case gated(LambdaFunction, gateways: [String], endpoints: [ServiceInstance])
  /// Not configured anywhere; the reason is also a finding.
  case excluded(reason: String)

  public var function: LambdaFunction? {
    switch self {
    case .direct(let function), .gated(let function, _, _): function
    case .excluded: nil
    }
  }
}

/// The routing decision for every Lambda service, with the findings that explain it. Planned
/// service by service, so a change plans again only the services it touched.
public struct LambdaRoutingPlan: Sendable, Equatable {
  public private(set) var routes: [String: LambdaRoute] = [:]
  private var findingsByService: [String: [Finding]] = [:]
  private var rejected: [Finding] = []
  /// The lambda-xds settings each service last had, and the services that lost theirs (with the
  /// service-defaults entry and KV value that lost them: the warning lasts until either changes again).
  private var hadSettings: [String: [String]] = [:]
  private var lostSettings: [String: LostSettings] = [:]

  private struct LostSettings: Sendable, Equatable {
    var keys: [String]
    var entry: ServiceDefaults?
    var kv: JSONValue?
  }

  /// As Consul decides: a service linked by a terminating gateway with a healthy instance is
  /// reached through it (its `/v1/health/connect` view lists the gateway); otherwise directly.
  /// - Parameter previous: the plan this one replaces, whose memory of settings it keeps.
  public init(_ catalog: CatalogSnapshot, after previous: LambdaRoutingPlan? = nil) {
    hadSettings = previous?.hadSettings ?? [:]
    lostSettings = previous?.lostSettings ?? [:]
    _ = update(catalog.lambdas.keys, in: catalog)
  }

  /// Every finding, sorted.
  public var findings: [Finding] { (rejected + findingsByService.values.joined()).sorted() }

  /// Plans these services again (and reads the catalog's rejected objects again).
  /// - Returns: the services whose route changed.
  public mutating func update(_ services: some Sequence<String>, in catalog: CatalogSnapshot) -> Set<String> {
    rejected = catalog.rejectedObjects.map { .error("catalog", "ignored: \($0)") }
    var changed = Set<String>()
    for service in services {
      let before = routes[service]
      plan(service, catalog)
      if routes[service] != before { changed.insert(service) }
    }
    return changed
  }

  /// The settings a service had and its registration no longer has, while its entry is unchanged.
  private mutating func settingsLost(
    _ service: String, _ registration: LambdaRegistration, _ entry: ServiceDefaults?, _ kv: JSONValue?
  ) -> [String]? {
    if !registration.settingKeys.isEmpty {
      hadSettings[service] = registration.settingKeys
      lostSettings[service] = nil
    } else if let had = hadSettings.removeValue(forKey: service) {
      lostSettings[service] = LostSettings(keys: had, entry: entry, kv: kv)
    }
    guard let lost = lostSettings[service] else { return nil }
    guard lost.entry == entry && lost.kv == kv else {
      lostSettings[service] = nil
      return nil
    }
    return lost.keys
  }

  private mutating func plan(_ service: String, _ catalog: CatalogSnapshot) {
    guard let registration = catalog.lambdas[service] else {
      routes[service] = nil
      findingsByService[service] = nil
      hadSettings[service] = nil
      lostSettings[service] = nil
      return
    }
    var findings = registration.warnings.map { Finding.warning(service, $0) }
    if let lost = settingsLost(service, registration, catalog.serviceDefaults[service], catalog.lambdaSettings[service]) {
      findings.append(
        .warning(
          service,
          "its lambda-xds settings (\(lost.joined(separator: ", "))) are gone, so the defaults apply; consul-lambda-registrator rewrites service-defaults without Meta: keep them in Consul KV \(LambdaSettingsKV.prefix)\(service), which it leaves alone"
        ))
    }
    defer { findingsByService[service] = findings.isEmpty ? nil : findings }
    guard case .success(let function) = registration.function else {
      let reason = registration.invalidReason ?? "invalid"
      routes[service] = .excluded(reason: reason)
      findings.append(.error(service, "excluded: \(reason)"))
      return
    }
    let gateways = catalog.gateways(linking: service)
    let endpoints = gateways.flatMap { catalog.healthyInstances(of: $0) }.filter { !$0.address.isEmpty && $0.port > 0 }
    if gateways.isEmpty || endpoints.isEmpty {
      if !gateways.isEmpty {
        findings.append(
          .warning(
            service,
            "linked to terminating gateway \(gateways.joined(separator: ", ")) but no instance is healthy with an address and port; callers invoke it directly from their sidecars, which enforce its intentions themselves"
          ))
      }
      routes[service] = .direct(function)
    } else if catalog.trustDomain == nil {
      let reason = "linked to a terminating gateway, but the mesh trust domain (Connect CA roots) is not known yet"
      routes[service] = .excluded(reason: reason)
      findings.append(.error(service, "excluded: \(reason)"))
    } else {
      routes[service] = .gated(function, gateways: gateways, endpoints: endpoints.sorted { $0.id < $1.id })
    }
  }
}
