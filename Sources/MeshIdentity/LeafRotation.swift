public import ConsulCatalog
public import Foundation

/// Keeps a leaf for every service that needs one, renewing each when half its lifetime is gone
/// (Consul renews leaves in the same window), so proxies always hold a valid certificate.
public struct LeafRotation: Sendable {
  public let authority: DevCertificateAuthority
  public var lifetime: TimeInterval
  public private(set) var leaves: [String: IssuedLeaf] = [:]

  public init(authority: DevCertificateAuthority, lifetime: TimeInterval = 72 * 3600) {
    self.authority = authority
    self.lifetime = lifetime
  }

  /// Issues missing leaves, renews ageing ones, drops unused ones.
  /// - Returns: true when the certificates changed.
  public mutating func update(services: Set<String>, datacenter: String, now: Date) throws -> Bool {
    var changed = false
    for service in Set(leaves.keys).subtracting(services) {
      leaves[service] = nil
      changed = true
    }
    for service in services {
      if let current = leaves[service], current.notAfter.timeIntervalSince(now) > lifetime / 2 { continue }
      leaves[service] = try authority.issue(service: service, datacenter: datacenter, now: now, lifetime: lifetime)
      changed = true
    }
    return changed
  }

  /// Puts the catalog under this CA's trust domain and brings its leaves up to date.
  /// - Returns: true when the certificates changed.
  public mutating func apply(to catalog: inout CatalogSnapshot, now: Date) throws -> Bool {
    catalog.trustDomain = authority.trustDomain
    return try update(services: catalog.servicesNeedingLeaves, datacenter: catalog.datacenter, now: now)
  }

  /// The earliest moment a leaf needs renewing.
  public var nextRenewal: Date? {
    leaves.values.map { $0.notAfter.addingTimeInterval(-lifetime / 2) }.min()
  }

  public var certificates: MeshCertificates {
    MeshCertificates(rootsPEM: authority.rootPEM, leaves: leaves.mapValues(\.leaf))
  }
}
