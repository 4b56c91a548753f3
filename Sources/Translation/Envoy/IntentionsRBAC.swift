import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf

/// Turns a service's `service-intentions` into the gateway's HTTP RBAC rules, with Consul's
/// precedence: an exact source beats `*`, and deny wins between equals.
///
/// Like Consul, only the sources whose action differs from the default policy become policies:
/// default allow gives a DENY rule set, default deny an ALLOW rule set. A lower-precedence
/// source excludes every higher-precedence one, so `* deny` with `api allow` still lets api in.
enum IntentionsRBAC {
  struct Source: Equatable {
    var name: String
    var allow: Bool
  }

  static func rules(
    intentions: JSONValue?, service: String, trustDomain: String,
    defaultPolicy: TranslationOptions.IntentionPolicy
  ) -> (rules: RBACRules, findings: [Finding]) {
    let (sources, findings) = parse(intentions, service: service)
    let exact = sources.filter { $0.name != "*" }
    let wildcard = sources.first { $0.name == "*" }
    let defaultAllows = defaultPolicy == .allow
    var policies: [String: Envoy_Config_Rbac_V3_Policy] = [:]
    for source in exact where source.allow != defaultAllows {
      policies["consul-intentions-layer4-\(source.name)"] = policy(principal(source.name, trustDomain))
    }
    if let wildcard, wildcard.allow != defaultAllows {
      var everyoneElse = Principal.with { $0.any = true }
      if !exact.isEmpty {
        let named = Principal.with { $0.orIds.ids = exact.map { principal($0.name, trustDomain) } }
        everyoneElse = .with { $0.andIds.ids = [.with { $0.any = true }, .with { $0.notID = named }] }
      }
      policies["consul-intentions-layer4-*"] = policy(everyoneElse)
    }
    let rules = RBACRules.with {
      $0.action = defaultAllows ? .deny : .allow
      $0.policies = policies
    }
    return (rules, findings)
  }

  /// Sources by precedence; a name listed twice keeps deny.
  static func parse(_ intentions: JSONValue?, service: String) -> ([Source], [Finding]) {
    var byName: [String: Bool] = [:]
    var findings: [Finding] = []
    for entry in intentions?["Sources"]?.array ?? [] {
      guard let name = entry["Name"]?.string, !name.isEmpty else {
        findings.append(.warning(service, "an intention source has no Name; ignored"))
        continue
      }
      guard let action = entry["Action"]?.string?.lowercased(), action == "allow" || action == "deny" else {
        // Fail closed: a rule we cannot express must not let the caller in.
        findings.append(
          .warning(service, "intention from \(name) has no allow/deny Action (L7 Permissions are not supported yet); treated as deny"))
        byName[name] = false
        continue
      }
      byName[name] = (byName[name] ?? true) && action == "allow"
    }
    let sources = byName.map { Source(name: $0.key, allow: $0.value) }.sorted { $0.name < $1.name }
    return (sources, findings)
  }

  /// The caller's SPIFFE identity from its client certificate, in any datacenter.
  private static func principal(_ service: String, _ trustDomain: String) -> Principal {
    .with {
      $0.authenticated.principalName.safeRegex.regex =
        "^spiffe://\(escape(trustDomain))/ns/default/dc/[^/]+/svc/\(escape(service))$"
    }
  }

  private static func policy(_ principal: Principal) -> Envoy_Config_Rbac_V3_Policy {
    .with {
      $0.permissions = [.with { $0.any = true }]
      $0.principals = [principal]
    }
  }

  private static func escape(_ text: String) -> String {
    var escaped = ""
    for character in text {
      if "\\.^$|?*+()[]{}".contains(character) { escaped.append("\\") }
      escaped.append(character)
    }
    return escaped
  }
}
