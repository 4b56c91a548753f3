/// The xDS resource types lambda-xds serves, declared in ADS push order.
///
/// The order of the cases matters: a stream pushes clusters, then their endpoints, then secrets,
/// then listeners, then routes, so that everything a resource refers to is in place (or warming)
/// before the resource that needs it arrives. This is the one place that order is written down.
public enum ResourceType: Int, CaseIterable, Comparable, Hashable, Sendable,
  CustomStringConvertible
{
  case cluster
  case endpoint
  case secret
  case listener
  case route

  public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

  public var typeURL: String {
    switch self {
    case .cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster"
    case .endpoint: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
    case .secret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
    case .listener: "type.googleapis.com/envoy.config.listener.v3.Listener"
    case .route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
    }
  }

  public init?(typeURL: String) {
    guard let type = Self.allCases.first(where: { $0.typeURL == typeURL }) else { return nil }
    self = type
  }

  /// Listeners and clusters are sent as a complete set in state-of-the-world responses; a name
  /// missing from the set is a deletion. They are also the only wildcard-capable types.
  public var isFullState: Bool { self == .cluster || self == .listener }

  /// Short name used in logs, metrics and the admin API (CDS, EDS, SDS, LDS, RDS).
  public var description: String {
    switch self {
    case .cluster: "CDS"
    case .endpoint: "EDS"
    case .secret: "SDS"
    case .listener: "LDS"
    case .route: "RDS"
    }
  }
}

/// Identifies one resource within a snapshot.
public struct ResourceKey: Hashable, Sendable, CustomStringConvertible {
  public var type: ResourceType
  public var name: String

  public init(_ type: ResourceType, _ name: String) {
    self.type = type
    self.name = name
  }

  public var description: String { "\(type)/\(name)" }
}
