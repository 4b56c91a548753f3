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

/// The routing decision for every Lambda service, with the findings that explain it.
public struct LambdaRoutingPlan: Sendable, Equatable {
  public var routes: [String: LambdaRoute]
  public var findings: [Finding]

  /// As Consul decides: a service linked by a terminating gateway with a healthy instance is
  /// reached through it (its `/v1/health/connect` view lists the gateway); otherwise directly.
  public init(_ catalog: CatalogSnapshot) {
    routes = [:]
    findings = catalog.rejectedObjects.map { .error("catalog", "ignored: \($0)") }
    let gatewaysByService = catalog.gatewaysByService
    let healthy = catalog.healthyInstancesByService
    for (service, registration) in catalog.lambdas {
      findings += registration.warnings.map { .warning(service, $0) }
      guard case .success(let function) = registration.function else {
        let reason = registration.invalidReason ?? "invalid"
        routes[service] = .excluded(reason: reason)
        findings.append(.error(service, "excluded: \(reason)"))
        continue
      }
      let gateways = catalog.gateways(linking: service, in: gatewaysByService)
      let endpoints = gateways.flatMap { healthy[$0] ?? [] }.filter { !$0.address.isEmpty && $0.port > 0 }
      if gateways.isEmpty || endpoints.isEmpty {
        if !gateways.isEmpty {
          findings.append(
            .warning(
              service,
              "linked to terminating gateway \(gateways.joined(separator: ", ")) but no instance is healthy with an address and port; callers invoke it directly from their sidecars, where intentions are not enforced"
            ))
        }
        if catalog.intentions[service] != nil {
          findings.append(.warning(service, "has service-intentions, but direct calls from sidecars cannot enforce them; link it to a terminating gateway"))
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
    findings.sort()
  }
}
