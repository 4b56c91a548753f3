/// Consul's HTTP answers read into catalog objects. Pure, so the watches do only I/O and every
/// reader of what Consul sends can be fuzzed on its own.
public enum ConsulAnswers {
  /// `/v1/health/service/<name>`: each entry (node, service, checks) as the registration body it
  /// stands for. Entries that are not objects are skipped.
  public static func registrations(fromHealth body: JSONValue?) -> [JSONValue] {
    (body?.array ?? []).compactMap { entry in
      guard entry.object != nil else { return nil }
      return .object([
        "Node": entry["Node"]?["Node"] ?? .null,
        "Address": entry["Node"]?["Address"] ?? .null,
        "Service": entry["Service"] ?? .null,
        "Checks": entry["Checks"] ?? .array([]),
      ])
    }
  }

  /// `/v1/catalog/services`: the service names (the tags are not needed).
  public static func serviceNames(_ body: JSONValue?) -> Set<String> {
    Set((body?.object ?? [:]).keys.filter { $0.utf8.count <= CatalogLimits.maxNameLength })
  }

  /// `/v1/catalog/datacenters`: every datacenter's name.
  public static func datacenters(_ body: JSONValue?) -> [String] {
    (body?.array ?? []).compactMap(\.string).filter { !$0.isEmpty && $0.utf8.count <= CatalogLimits.maxNameLength }.sorted()
  }

  /// `/v1/config/<kind>`: the entries, as a list.
  public static func configEntries(_ body: JSONValue?) -> [JSONValue] { body?.array ?? [] }

  /// `/v1/connect/ca/roots`: the trust domain (`<cluster-id>.consul`).
  public static func trustDomain(fromRoots body: JSONValue?) -> String? {
    guard let domain = body?["TrustDomain"]?.string, !domain.isEmpty, domain.utf8.count <= CatalogLimits.maxNameLength
    else { return nil }
    return domain
  }

  /// `/v1/connect/ca/roots`: every root, concatenated; during a CA rotation proxies trust all.
  public static func rootsPEM(_ body: JSONValue?) -> String {
    (body?["Roots"]?.array ?? []).compactMap { $0["RootCert"]?.string }.map(withNewline).joined()
  }

  /// `/v1/agent/connect/ca/leaf/<service>`: the certificate and its key.
  public static func leaf(_ body: JSONValue?) -> MeshCertificates.Leaf? {
    guard let cert = body?["CertPEM"]?.string, let key = body?["PrivateKeyPEM"]?.string else { return nil }
    return .init(certificatePEM: withNewline(cert), privateKeyPEM: withNewline(key))
  }

  static func withNewline(_ pem: String) -> String { pem.hasSuffix("\n") ? pem : pem + "\n" }
}
