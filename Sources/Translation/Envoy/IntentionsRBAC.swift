import ConsulCatalog
import EnvoyAPI
import SwiftProtobuf

/// Turns a service's `service-intentions` into the gateway's HTTP RBAC rules, with Consul's
/// precedence: an exact source beats `*`, and for a source with L7 `Permissions` the first
/// permission whose HTTP match fits decides (none fits: the default policy).
///
/// Like Consul, only decisions that differ from the default policy become policies: default
/// allow gives a DENY rule set, default deny an ALLOW rule set. A lower-precedence source
/// excludes every higher-precedence one, so `* deny` with `api allow` still lets api in, and a
/// permission excludes the requests an earlier permission of the same source matched.
enum IntentionsRBAC {
  /// One source's decisions in order: an L4 source has one that matches every request.
  struct Source {
    var name: String
    var rules: [(allow: Bool, match: Envoy_Config_Rbac_V3_Permission)]
  }

  static func rules(
    intentions: JSONValue?, service: String, trustDomain: String,
    defaultPolicy: TranslationOptions.IntentionPolicy
  ) -> (rules: RBACRules, findings: [Finding]) {
    let (sources, findings) = parse(intentions, service: service)
    let exact = sources.filter { $0.name != "*" }
    let defaultAllows = defaultPolicy == .allow
    var policies: [String: Envoy_Config_Rbac_V3_Policy] = [:]
    for source in sources {
      var caller = source.name == "*" ? Principal.with { $0.any = true } : principal(source.name, trustDomain)
      if source.name == "*" && !exact.isEmpty {
        let named = Principal.with { $0.orIds.ids = exact.map { principal($0.name, trustDomain) } }
        caller = .with { $0.andIds.ids = [.with { $0.any = true }, .with { $0.notID = named }] }
      }
      for (index, rule) in source.rules.enumerated() where rule.allow != defaultAllows {
        var permission = rule.match
        let earlier = source.rules[..<index].map(\.match)
        if !earlier.isEmpty {
          permission = .with {
            $0.andRules.rules = [rule.match, .with { $0.notRule = .with { $0.orRules.rules = earlier } }]
          }
        }
        let suffix = source.rules.count == 1 ? "" : "-\(index + 1)"
        let layer = source.rules.count == 1 && rule.match.any ? "layer4" : "layer7"
        policies["consul-intentions-\(layer)-\(source.name)\(suffix)"] = .with {
          $0.permissions = [permission]
          $0.principals = [caller]
        }
      }
    }
    let rules = RBACRules.with {
      $0.action = defaultAllows ? .deny : .allow
      $0.policies = policies
    }
    return (rules, findings)
  }

  /// Sources in name order; a name listed twice keeps an L4 deny if either is one (deny wins).
  static func parse(_ intentions: JSONValue?, service: String) -> ([Source], [Finding]) {
    var byName: [String: Source] = [:]
    var findings: [Finding] = []
    let everything = Envoy_Config_Rbac_V3_Permission.with { $0.any = true }
    for entry in intentions?["Sources"]?.array ?? [] {
      guard let name = entry["Name"]?.string, !name.isEmpty else {
        findings.append(.warning(service, "an intention source has no Name; ignored"))
        continue
      }
      var source = Source(name: name, rules: [])
      if let action = entry["Action"]?.string?.lowercased(), action == "allow" || action == "deny" {
        source.rules = [(action == "allow", everything)]
      } else if let permissions = entry["Permissions"]?.array, !permissions.isEmpty {
        for (index, permission) in permissions.enumerated() {
          do {
            source.rules.append(try l7Rule(permission))
          } catch {
            // Fail closed: a permission we cannot express denies whatever it could have matched.
            findings.append(.warning(service, "intention from \(name), permission \(index + 1): \(error); treated as deny"))
            source.rules.append((false, everything))
          }
        }
      } else {
        findings.append(.warning(service, "intention from \(name) has neither an allow/deny Action nor Permissions; treated as deny"))
        source.rules = [(false, everything)]
      }
      if let previous = byName[name] {
        let l4Deny = { (source: Source) in source.rules.count == 1 && !source.rules[0].allow && source.rules[0].match.any }
        if !l4Deny(source) { source = l4Deny(previous) ? previous : source }
        findings.append(.warning(service, "intention source \(name) is listed twice"))
      }
      byName[name] = source
    }
    return (byName.values.sorted { $0.name < $1.name }, findings)
  }

  /// One L7 permission: `Action` plus an `HTTP` match (path exact/prefix/regex, methods, headers),
  /// all of which must hold.
  static func l7Rule(_ permission: JSONValue) throws(CatalogError) -> (allow: Bool, match: Envoy_Config_Rbac_V3_Permission) {
    guard let action = permission["Action"]?.string?.lowercased(), action == "allow" || action == "deny" else {
      throw CatalogError("Action must be allow or deny")
    }
    guard let http = permission["HTTP"], http.object != nil else { throw CatalogError("only HTTP permissions are supported") }
    var conditions: [Envoy_Config_Rbac_V3_Permission] = []
    func path(_ build: (inout Envoy_Type_Matcher_V3_StringMatcher) -> Void) {
      conditions.append(.with { $0.urlPath.path = .with(build) })
    }
    if let exact = http["PathExact"]?.string, !exact.isEmpty { path { $0.exact = exact } }
    if let prefix = http["PathPrefix"]?.string, !prefix.isEmpty { path { $0.prefix = prefix } }
    if let regex = http["PathRegex"]?.string, !regex.isEmpty { path { $0.safeRegex.regex = regex } }
    if let methods = http["Methods"]?.array, !methods.isEmpty {
      conditions.append(.with {
        $0.orRules.rules = methods.compactMap(\.string).map { method in
          .with { $0.header = .with { $0.name = ":method"; $0.stringMatch.exact = method.uppercased() } }
        }
      })
    }
    for header in http["Header"]?.array ?? [] {
      guard let name = header["Name"]?.string, !name.isEmpty else { throw CatalogError("a header match has no Name") }
      var matcher = Envoy_Config_Route_V3_HeaderMatcher.with { $0.name = name.lowercased() }
      if header["Present"]?.bool == true {
        matcher.presentMatch = true
      } else if let value = header["Exact"]?.string {
        matcher.stringMatch.exact = value
      } else if let value = header["Prefix"]?.string {
        matcher.stringMatch.prefix = value
      } else if let value = header["Suffix"]?.string {
        matcher.stringMatch.suffix = value
      } else if let value = header["Regex"]?.string {
        matcher.stringMatch.safeRegex.regex = value
      } else {
        throw CatalogError("header \(name) needs Present, Exact, Prefix, Suffix or Regex")
      }
      matcher.invertMatch = header["Invert"]?.bool ?? false
      conditions.append(.with { $0.header = matcher })
    }
    let match: Envoy_Config_Rbac_V3_Permission
    switch conditions.count {
    case 0: match = .with { $0.any = true }
    case 1: match = conditions[0]
    default: match = .with { $0.andRules.rules = conditions }
    }
    return (action == "allow", match)
  }

  /// The caller's SPIFFE identity from its client certificate, in any datacenter.
  private static func principal(_ service: String, _ trustDomain: String) -> Principal {
    .with {
      $0.authenticated.principalName.safeRegex.regex =
        "^spiffe://\(escape(trustDomain))/ns/default/dc/[^/]+/svc/\(escape(service))$"
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
