public import ConsulCatalog
public import ResourceCache

/// What one proxy gets: its snapshot and the findings that explain what was left out.
public struct ProxyTranslation: Sendable {
  /// The proxy's Consul service ID, which is Envoy's `node.id`.
  public let nodeID: String
  public let kind: ServiceInstance.Kind
  /// Consistent by construction; nil only if it was not (a bug, reported as a finding), so the
  /// proxy keeps its previous configuration.
  public let snapshot: Snapshot?
  public let findings: [Finding]
  /// The Lambda ARNs (qualifiers included) whose Invoke requests this proxy signs: what its AWS
  /// identity needs `lambda:InvokeFunction` on.
  public let signedFunctions: [String]
}

/// The whole catalog translated: the routing plan and every proxy's configuration.
public struct CatalogTranslation: Sendable {
  public let plan: LambdaRoutingPlan
  /// By node id.
  public let proxies: [String: ProxyTranslation]
  /// The proxies translated again (among them those that left); nil: every proxy.
  public let changed: Set<String>?

  /// Every finding as one line: the plan's, then each proxy's (marked with its node id).
  public var report: [String] {
    plan.findings.map(\.description)
      + proxies.sorted { $0.key < $1.key }.flatMap { node, proxy in proxy.findings.map { "\($0) (proxy \(node))" } }
  }

  /// Whether any finding is an error (a service or upstream left out).
  public var hasErrors: Bool {
    plan.findings.contains { $0.severity == .error }
      || proxies.values.contains { $0.findings.contains { $0.severity == .error } }
  }
}
