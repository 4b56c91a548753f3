public import ConsulCatalog
public import Foundation

/// Keeps a leaf for every service that needs one, renewing each when half its lifetime is gone
/// (Consul renews leaves in the same window), so proxies always hold a valid certificate.
///
/// With a `store` directory every leaf is kept there (keys 0600) and taken up again after a
/// restart, so a restarted server hands connected proxies the very same secrets.
public struct LeafRotation: Sendable {
  public let authority: DevCertificateAuthority
  public var lifetime: TimeInterval
  public let store: URL?
  public private(set) var leaves: [String: IssuedLeaf] = [:]
  /// Rebuilt only when a leaf changes, so unchanged certificates stay the very same dictionary
  /// (which lets a translation see "no certificate changed" without comparing them all).
  private var leafMap: [String: MeshCertificates.Leaf] = [:]

  public init(authority: DevCertificateAuthority, lifetime: TimeInterval = 72 * 3600, store: URL? = nil) {
    self.authority = authority
    self.lifetime = lifetime
    self.store = store
  }

  /// Issues missing leaves, renews ageing ones, drops unused ones.
  /// - Returns: true when the certificates changed.
  public mutating func update(services: Set<String>, datacenter: String, now: Date) throws -> Bool {
    var changed = false
    for service in leaves.keys where !services.contains(service) {
      leaves[service] = nil
      for file in files(service) { try? FileManager.default.removeItem(at: file) }
      changed = true
    }
    for service in services {
      if leaves[service] == nil, let kept = kept(service, datacenter: datacenter) {
        leaves[service] = kept
        changed = true
      }
      if let current = leaves[service], current.notAfter.timeIntervalSince(now) > lifetime / 2 { continue }
      let issued = try authority.issue(service: service, datacenter: datacenter, now: now, lifetime: lifetime)
      try keep(issued, for: service)
      leaves[service] = issued
      changed = true
    }
    if changed { leafMap = leaves.mapValues(\.leaf) }
    return changed
  }

  /// `<store>/leaves/<service>.pem` and `<service>-key.pem`.
  private func files(_ service: String) -> [URL] {
    guard let store else { return [] }
    let directory = store.appendingPathComponent("leaves")
    return [directory.appendingPathComponent("\(service).pem"), directory.appendingPathComponent("\(service)-key.pem")]
  }

  private func kept(_ service: String, datacenter: String) -> IssuedLeaf? {
    let files = files(service)
    guard files.count == 2, let certificate = try? String(contentsOf: files[0], encoding: .utf8),
      let key = try? String(contentsOf: files[1], encoding: .utf8)
    else { return nil }
    return authority.restore(certificatePEM: certificate, keyPEM: key, service: service, datacenter: datacenter)
  }

  private func keep(_ issued: IssuedLeaf, for service: String) throws {
    let files = files(service)
    guard files.count == 2 else { return }
    try FileManager.default.createDirectory(at: files[0].deletingLastPathComponent(), withIntermediateDirectories: true)
    try issued.leaf.certificatePEM.write(to: files[0], atomically: true, encoding: .utf8)
    // A new file created 0600, so the key is never readable by others, even for a moment.
    try? FileManager.default.removeItem(at: files[1])
    guard FileManager.default.createFile(
      atPath: files[1].path, contents: Data(issued.leaf.privateKeyPEM.utf8), attributes: [.posixPermissions: 0o600])
    else { throw DevCAError("cannot write \(files[1].path)") }
  }

  /// Puts the catalog under this CA's trust domain and brings its leaves up to date.
  /// - Parameter change: what changed since the last call, when known: a change that cannot
  ///   alter which services need leaves skips the pass over every proxy (renewals wait for
  ///   the next call without one, which ``nextRenewal`` schedules).
  /// - Returns: true when the certificates changed.
  public mutating func apply(to catalog: inout CatalogSnapshot, change: CatalogChange? = nil, now: Date) throws -> Bool {
    catalog.trustDomain = authority.trustDomain
    if let change, !leaves.isEmpty, !Self.mayChangeLeafServices(change, catalog) { return false }
    return try update(services: catalog.servicesNeedingLeaves, datacenter: catalog.datacenter, now: now)
  }

  /// Whether a change can add or drop a service that needs a leaf: one of a proxy's own
  /// registration, or of a terminating gateway's instances or links (a `*` link reaches
  /// services by what they are, so any change may).
  private static func mayChangeLeafServices(_ change: CatalogChange, _ catalog: CatalogSnapshot) -> Bool {
    if change.everything || !change.proxies.isEmpty { return true }
    if catalog.gatewayLinks.values.contains(where: { $0.contains("*") }) { return true }
    return change.services.contains { service in
      catalog.gatewayLinks[service] != nil
        || catalog.instancesByService[service]?.contains { $0.kind == .terminatingGateway } == true
    }
  }

  /// The earliest moment a leaf needs renewing.
  public var nextRenewal: Date? {
    leaves.values.map { $0.notAfter.addingTimeInterval(-lifetime / 2) }.min()
  }

  public var certificates: MeshCertificates {
    MeshCertificates(rootsPEM: authority.rootPEM, leaves: leafMap)
  }
}
