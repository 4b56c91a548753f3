/// A `service-intentions` entry, read into Consul's meaning; translation turns it into Envoy RBAC.
public struct ServiceIntentions: Sendable, Hashable {
  public var destination: String
  /// In name order, one per source name.
  public var sources: [IntentionSource]
  /// Things in the entry that were ignored or read as deny, one line each.
  public var warnings: [String]

  public init(destination: String, sources: [IntentionSource], warnings: [String] = []) {
    self.destination = destination
    self.sources = sources
    self.warnings = warnings
  }

  public func source(named name: String) -> IntentionSource? { sources.first { $0.name == name } }
}

/// One caller (`Name`, or `*`) and what it may do.
public struct IntentionSource: Sendable, Hashable {
  public var name: String
  /// In order: the first whose match fits a request decides. An L4 intention has one rule that
  /// matches everything.
  public var rules: [IntentionRule]

  public init(name: String, rules: [IntentionRule]) {
    self.name = name
    self.rules = rules
  }

  public var isWildcard: Bool { name == "*" }
  /// An `Action` intention (allow or deny everything), as opposed to L7 `Permissions`.
  public var isL4: Bool { rules.count == 1 && rules[0].match == nil }
  public var isL4Deny: Bool { isL4 && !rules[0].allow }
}

/// A decision for the requests `match` selects (nil: every request).
public struct IntentionRule: Sendable, Hashable {
  public var allow: Bool
  public var match: HTTPMatch?

  public init(allow: Bool, match: HTTPMatch? = nil) {
    self.allow = allow
    self.match = match
  }
}

/// An L7 permission's `HTTP` block; every part given must hold.
public struct HTTPMatch: Sendable, Hashable {
  public var pathExact: String?
  public var pathPrefix: String?
  public var pathRegex: String?
  /// Upper-cased; any of them.
  public var methods: [String]
  public var headers: [HeaderMatch]

  public init(
    pathExact: String? = nil, pathPrefix: String? = nil, pathRegex: String? = nil, methods: [String] = [],
    headers: [HeaderMatch] = []
  ) {
    self.pathExact = pathExact
    self.pathPrefix = pathPrefix
    self.pathRegex = pathRegex
    self.methods = methods
    self.headers = headers
  }
}

public struct HeaderMatch: Sendable, Hashable {
  public enum Test: Sendable, Hashable {
    case present
    case exact(String)
    case prefix(String)
    case suffix(String)
    case regex(String)
  }

  /// Lower-cased.
  public var name: String
  public var test: Test
  public var invert: Bool

  public init(name: String, test: Test, invert: Bool = false) {
    self.name = name
    self.test = test
    self.invert = invert
  }
}

extension ServiceIntentions {
  /// Reads an entry. A source without a usable `Action` or `Permissions`, or a permission this
  /// reader cannot express, is read as deny (fail closed) with a warning; a name listed twice
  /// keeps an L4 deny if either is one.
  public init(_ body: JSONValue, destination: String) {
    var byName: [String: IntentionSource] = [:]
    var warnings: [String] = []
    for entry in body["Sources"]?.array ?? [] {
      guard let name = entry["Name"]?.string, !name.isEmpty else {
        warnings.append("an intention source has no Name; ignored")
        continue
      }
      guard name.utf8.count <= CatalogLimits.maxNameLength else {
        warnings.append("an intention source's Name is longer than \(CatalogLimits.maxNameLength) bytes; ignored")
        continue
      }
      var source = IntentionSource(name: name, rules: [])
      if let action = entry["Action"]?.string?.lowercased(), action == "allow" || action == "deny" {
        source.rules = [IntentionRule(allow: action == "allow")]
      } else if let permissions = entry["Permissions"]?.array, !permissions.isEmpty {
        for (index, permission) in permissions.enumerated() {
          do {
            source.rules.append(try Self.rule(permission))
          } catch {
            warnings.append("intention from \(name), permission \(index + 1): \(error); treated as deny")
            source.rules.append(IntentionRule(allow: false))
          }
        }
      } else {
        warnings.append("intention from \(name) has neither an allow/deny Action nor Permissions; treated as deny")
        source.rules = [IntentionRule(allow: false)]
      }
      if let previous = byName[name] {
        if !source.isL4Deny { source = previous.isL4Deny ? previous : source }
        warnings.append("intention source \(name) is listed twice")
      }
      byName[name] = source
    }
    self.init(
      destination: destination, sources: byName.values.sorted { $0.name < $1.name }, warnings: warnings)
  }

  /// One L7 permission: `Action` plus an `HTTP` match.
  static func rule(_ permission: JSONValue) throws(CatalogError) -> IntentionRule {
    guard let action = permission["Action"]?.string?.lowercased(), action == "allow" || action == "deny" else {
      throw CatalogError("Action must be allow or deny")
    }
    guard let http = permission["HTTP"], http.object != nil else { throw CatalogError("only HTTP permissions are supported") }
    func text(_ key: String) -> String? { http[key]?.string.flatMap { $0.isEmpty ? nil : $0 } }
    var match = HTTPMatch(pathExact: text("PathExact"), pathPrefix: text("PathPrefix"), pathRegex: text("PathRegex"))
    match.methods = (http["Methods"]?.array ?? []).compactMap(\.string).map { $0.uppercased() }
    for header in http["Header"]?.array ?? [] {
      guard let name = header["Name"]?.string, !name.isEmpty else { throw CatalogError("a header match has no Name") }
      let test: HeaderMatch.Test
      if header["Present"]?.bool == true {
        test = .present
      } else if let value = header["Exact"]?.string {
        test = .exact(value)
      } else if let value = header["Prefix"]?.string {
        test = .prefix(value)
      } else if let value = header["Suffix"]?.string {
        test = .suffix(value)
      } else if let value = header["Regex"]?.string {
        test = .regex(value)
      } else {
        throw CatalogError("header \(name) needs Present, Exact, Prefix, Suffix or Regex")
      }
      match.headers.append(HeaderMatch(name: name.lowercased(), test: test, invert: header["Invert"]?.bool ?? false))
    }
    let matchesEverything = match == HTTPMatch()
    return IntentionRule(allow: action == "allow", match: matchesEverything ? nil : match)
  }
}
