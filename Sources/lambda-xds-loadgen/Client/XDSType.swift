import EnvoyAPI
import GRPCCore
import SwiftProtobuf

/// The five resource types a sidecar subscribes to over ADS, in Envoy's subscription order.
enum XDSType: Int, CaseIterable, Sendable, Codable {
  case cluster, endpoint, listener, route, secret

  var typeURL: String {
    switch self {
    case .cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster"
    case .endpoint: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
    case .listener: "type.googleapis.com/envoy.config.listener.v3.Listener"
    case .route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
    case .secret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
    }
  }

  var short: String {
    switch self {
    case .cluster: "CDS"
    case .endpoint: "EDS"
    case .listener: "LDS"
    case .route: "RDS"
    case .secret: "SDS"
    }
  }

  init?(typeURL: String) {
    guard let type = Self.allCases.first(where: { $0.typeURL == typeURL }) else { return nil }
    self = type
  }

  var bit: UInt8 { 1 << UInt8(rawValue) }
}

/// A response as it came off the wire: the decoded message and, when asked for, its exact bytes.
struct Captured<Message: Sendable>: Sendable {
  var message: Message
  var bytes: [UInt8]?
  var size: Int
}

/// Decodes a protobuf message and keeps the serialized bytes it came from (for `record`).
struct CapturingDeserializer<Message: SwiftProtobuf.Message & Sendable>: MessageDeserializer {
  var keepBytes: Bool

  func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Captured<Message> {
    let bytes = serializedMessageBytes.withUnsafeBytes { Array($0) }
    return Captured(message: try Message(serializedBytes: bytes), bytes: keepBytes ? bytes : nil, size: bytes.count)
  }
}

/// Serializes a protobuf message (the requests).
struct PlainSerializer<Message: SwiftProtobuf.Message>: MessageSerializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: Message) throws -> Bytes {
    let bytes: [UInt8] = try message.serializedBytes()
    return Bytes(bytes)
  }
}

struct PlainDeserializer<Message: SwiftProtobuf.Message>: MessageDeserializer {
  func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Message {
    try Message(serializedBytes: serializedMessageBytes.withUnsafeBytes { Array($0) })
  }
}

/// Sends bytes that are already a serialized message, unchanged (the bare server's responses).
struct RawSerializer: MessageSerializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

/// What a cluster or listener makes a client subscribe to next.
struct References: Sendable, Equatable {
  var endpoints: [String] = []
  var routes: [String] = []
  var secrets: [String] = []
}

enum ResourceReferences {
  typealias Cluster = Envoy_Config_Cluster_V3_Cluster
  typealias Listener = Envoy_Config_Listener_V3_Listener
  typealias HCM = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager
  typealias UpstreamTLS = Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext
  typealias DownstreamTLS = Envoy_Extensions_TransportSockets_Tls_V3_DownstreamTlsContext
  typealias CommonTLS = Envoy_Extensions_TransportSockets_Tls_V3_CommonTlsContext

  static let hcmURL = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
  static let upstreamTLSURL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
  static let downstreamTLSURL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"

  /// (name, references) of an encoded cluster: its EDS name when it is an EDS cluster, and the
  /// SDS secrets its transport socket names.
  static func cluster(_ any: Google_Protobuf_Any) -> (String, References)? {
    guard let cluster = try? Cluster(serializedBytes: any.value) else { return nil }
    var refs = References()
    if case .type(let type)? = cluster.clusterDiscoveryType, type == .eds {
      refs.endpoints = [cluster.edsClusterConfig.serviceName.isEmpty ? cluster.name : cluster.edsClusterConfig.serviceName]
    }
    let socket = cluster.transportSocket
    if socket.typedConfig.typeURL == upstreamTLSURL, let tls = try? UpstreamTLS(serializedBytes: socket.typedConfig.value) {
      refs.secrets += secrets(tls.commonTlsContext)
    }
    return (cluster.name, refs)
  }

  /// (name, references) of an encoded listener: the RDS route names of its connection managers
  /// and the SDS secrets of its filter chains' transport sockets.
  static func listener(_ any: Google_Protobuf_Any) -> (String, References)? {
    guard let listener = try? Listener(serializedBytes: any.value) else { return nil }
    var refs = References()
    var chains = listener.filterChains
    if listener.hasDefaultFilterChain { chains.append(listener.defaultFilterChain) }
    for chain in chains {
      for filter in chain.filters where filter.typedConfig.typeURL == hcmURL {
        if let manager = try? HCM(serializedBytes: filter.typedConfig.value), case .rds(let rds)? = manager.routeSpecifier {
          refs.routes.append(rds.routeConfigName)
        }
      }
      if chain.transportSocket.typedConfig.typeURL == downstreamTLSURL,
        let tls = try? DownstreamTLS(serializedBytes: chain.transportSocket.typedConfig.value)
      {
        refs.secrets += secrets(tls.commonTlsContext)
      }
    }
    return (listener.name, refs)
  }

  static func secrets(_ common: CommonTLS) -> [String] {
    var names = common.tlsCertificateSdsSecretConfigs.map(\.name)
    if case .validationContextSdsSecretConfig(let config)? = common.validationContextType {
      names.append(config.name)
    }
    if case .combinedValidationContext(let combined)? = common.validationContextType {
      names.append(combined.validationContextSdsSecretConfig.name)
    }
    return names.filter { !$0.isEmpty }
  }
}
