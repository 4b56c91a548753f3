/// A Consul mesh identity: `spiffe://<trust-domain>/ns/<namespace>/dc/<datacenter>/svc/<service>`.
///
/// The one type that builds and parses these URIs: leaf certificates (dev CA), SAN checks on
/// mesh clusters, intentions' principals and the xDS client-certificate binding all go through
/// it, so they cannot disagree on the format.
public struct SPIFFEID: Sendable, Hashable, CustomStringConvertible {
  public var trustDomain: String
  public var namespace: String
  public var datacenter: String
  public var service: String

  public init(trustDomain: String, namespace: String = "default", datacenter: String, service: String) {
    self.trustDomain = trustDomain
    self.namespace = namespace
    self.datacenter = datacenter
    self.service = service
  }

  /// Parses a service identity; nil for anything else (a CA's bare `spiffe://<td>`, another scheme,
  /// an agent or mesh-gateway identity). Consul Enterprise's optional `/ap/<partition>` is skipped.
  public init?(uri: String) {
    guard uri.hasPrefix(Self.scheme) else { return nil }
    var parts = uri.dropFirst(Self.scheme.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    if parts.count == 9, parts[1] == "ap" { parts.removeSubrange(1...2) }
    guard parts.count == 7, parts[1] == "ns", parts[3] == "dc", parts[5] == "svc",
      parts.allSatisfy({ !$0.isEmpty })
    else { return nil }
    self.init(trustDomain: parts[0], namespace: parts[2], datacenter: parts[4], service: parts[6])
  }

  public var description: String {
    "\(Self.scheme)\(trustDomain)/ns/\(namespace)/dc/\(datacenter)/svc/\(service)"
  }

  /// The URI a Connect CA root carries: `spiffe://<trust-domain>`.
  public static func root(trustDomain: String) -> String { scheme + trustDomain }

  /// The trust domain of a root's URI; nil if it is not one.
  public static func trustDomain(ofRoot uri: String) -> String? {
    guard uri.hasPrefix(scheme) else { return nil }
    let domain = uri.dropFirst(scheme.count)
    return domain.isEmpty || domain.contains("/") ? nil : String(domain)
  }

  /// An RE2 pattern matching this service's identity in any datacenter (`service` nil: any
  /// service), as Consul's intentions match callers.
  public static func pattern(trustDomain: String, service: String?) -> String {
    "^\(escape(scheme + trustDomain))/ns/default/dc/[^/]+/svc/\(service.map(escape) ?? "[^/]+")$"
  }

  static let scheme = "spiffe://"

  private static func escape(_ text: String) -> String {
    var escaped = ""
    for character in text {
      if "\\.^$|?*+()[]{}".contains(character) { escaped.append("\\") }
      escaped.append(character)
    }
    return escaped
  }
}
