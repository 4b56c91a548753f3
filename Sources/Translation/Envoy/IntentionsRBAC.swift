import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf

/// Turns the intentions for one destination into Envoy RBAC rules, as Consul's `makeRBACRules`
/// does (`agent/xds/rbac.go`), for the sidecar's inbound side and the terminating gateway alike.
///
/// Only decisions that differ from the default policy become policies: default allow gives a
/// DENY rule set, default deny an ALLOW rule set. Precedence is flattened, so policy order does
/// not matter: the `*` source excludes every named source (a named intention beats the
/// wildcard), and an L7 permission excludes the requests an earlier permission with the other
/// action matched (the first matching permission decides). A request no permission matches falls
/// to the default policy.
enum IntentionsRBAC {
  static let layer4Policy = "consul-intentions-layer4"
  static func layer7Policy(_ index: Int) -> String { "consul-intentions-layer7-\(index)" }

  /// - Parameter http: whether the destination speaks HTTP; on a TCP destination an L7 intention
  ///   cannot be checked and counts as a deny, as in Consul.
  static func rules(
    _ intentions: ServiceIntentions?, trustDomain: String, defaultPolicy: TranslationOptions.IntentionPolicy, http: Bool
  ) -> RBACRules {
    let defaultAllows = defaultPolicy == .allow
    // Precedence: named sources, then `*`.
    let sources = (intentions?.sources ?? []).sorted { ($0.isWildcard ? 1 : 0, $0.name) < ($1.isWildcard ? 1 : 0, $1.name) }
    let named = sources.filter { !$0.isWildcard }.map { principal($0.name, trustDomain) }
    var layer4: [Principal] = []
    var policies: [String: Envoy_Config_Rbac_V3_Policy] = [:]
    for source in sources {
      var caller = principal(source.isWildcard ? nil : source.name, trustDomain)
      if source.isWildcard && !named.isEmpty {
        caller = .with { $0.andIds.ids = [caller] + named.map { name in .with { $0.notID = name } } }
      }
      if source.isL4 || !http {
        // On TCP an L7 intention is a deny.
        let allows = source.isL4 ? source.rules[0].allow : false
        if allows != defaultAllows { layer4.append(caller) }
        continue
      }
      let permissions = layer7Permissions(source.rules, defaultAllows: defaultAllows)
      guard !permissions.isEmpty else { continue }
      policies[layer7Policy(policies.count)] = .with {
        $0.permissions = permissions
        $0.principals = [caller]
      }
    }
    if !layer4.isEmpty {
      policies[layer4Policy] = .with {
        $0.permissions = [.with { $0.any = true }]
        $0.principals = layer4
      }
    }
    return RBACRules.with {
      $0.action = defaultAllows ? .deny : .allow
      $0.policies = policies
    }
  }

  /// The intentions for one caller known at translation time, for an HTTP RBAC filter on that
  /// caller's own outbound side (the direct Lambda path, where no certificate reaches a filter of
  /// the destination's): the caller's named intention, else the `*` one, as ``rules(_:trustDomain:defaultPolicy:http:)``
  /// ranks them, with "any" as the principal. nil when every request gets the default allow.
  static func rules(
    forCaller caller: String, _ intentions: ServiceIntentions?, defaultPolicy: TranslationOptions.IntentionPolicy
  ) -> RBACRules? {
    let defaultAllows = defaultPolicy == .allow
    let source = intentions?.source(named: caller) ?? intentions?.source(named: "*")
    var permissions: [Permission] = []
    if let source {
      permissions = source.isL4
        ? (source.rules[0].allow == defaultAllows ? [] : [.with { $0.any = true }])
        : layer7Permissions(source.rules, defaultAllows: defaultAllows)
    }
    if permissions.isEmpty { return defaultAllows ? nil : GatewayListener.denyAll }
    return RBACRules.with {
      $0.action = defaultAllows ? .deny : .allow
      $0.policies[source?.isL4 == true ? layer4Policy : layer7Policy(0)] = .with {
        $0.permissions = permissions
        $0.principals = [.with { $0.any = true }]
      }
    }
  }

  /// The permissions of one source that differ from the default, each excluding what an earlier
  /// permission with the default action already decided.
  private static func layer7Permissions(_ rules: [IntentionRule], defaultAllows: Bool) -> [Permission] {
    var result: [Permission] = []
    for (index, rule) in rules.enumerated() where rule.allow != defaultAllows {
      let earlier = rules[..<index].filter { $0.allow == defaultAllows }.map { permission($0.match) }
      let match = permission(rule.match)
      result.append(
        earlier.isEmpty ? match : .with { $0.andRules.rules = [match] + earlier.map { e in .with { $0.notRule = e } } })
    }
    return result
  }

  /// One L7 match as an Envoy permission; nil matches every request.
  static func permission(_ match: HTTPMatch?) -> Permission {
    guard let match else { return .with { $0.any = true } }
    var parts: [Permission] = []
    func path(_ build: (inout Envoy_Type_Matcher_V3_StringMatcher) -> Void) {
      parts.append(.with { $0.urlPath.path = .with(build) })
    }
    if let exact = match.pathExact { path { $0.exact = exact } }
    if let prefix = match.pathPrefix { path { $0.prefix = prefix } }
    if let regex = match.pathRegex { path { $0.safeRegex.regex = regex } }
    if !match.methods.isEmpty {
      parts.append(.with {
        $0.header = .with {
          $0.name = ":method"
          $0.stringMatch.safeRegex.regex = match.methods.joined(separator: "|")
        }
      })
    }
    for header in match.headers {
      var matcher = Envoy_Config_Route_V3_HeaderMatcher.with { $0.name = header.name }
      switch header.test {
      case .present: matcher.presentMatch = true
      case .exact(let value): matcher.stringMatch.exact = value
      case .prefix(let value): matcher.stringMatch.prefix = value
      case .suffix(let value): matcher.stringMatch.suffix = value
      case .regex(let value): matcher.stringMatch.safeRegex.regex = value
      }
      matcher.invertMatch = header.invert
      parts.append(.with { $0.header = matcher })
    }
    switch parts.count {
    case 0: return .with { $0.any = true }
    case 1: return parts[0]
    default: return .with { $0.andRules.rules = parts }
    }
  }

  /// A caller's SPIFFE identity (nil: any service) in any datacenter, from its client certificate.
  private static func principal(_ service: String?, _ trustDomain: String) -> Principal {
    .with {
      $0.authenticated.principalName.safeRegex.regex = SPIFFEID.pattern(trustDomain: trustDomain, service: service)
    }
  }
}
