import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A STATIC cluster to the sidecar's own application: `local_app`, and
/// `exposed_cluster_<port>` for an exposed path served on another local port.
struct LocalAppCluster: ResourceSpec {
  var name: String
  var address: String
  var port: Int
  var connectTimeoutMilliseconds: Int
  var http2: Bool

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    var cluster = Cluster.with {
      $0.name = name
      $0.type = .static
      $0.connectTimeout = .milliseconds(connectTimeoutMilliseconds)
      $0.loadAssignment.clusterName = name
      $0.loadAssignment.endpoints = [.with { $0.lbEndpoints = [.with { $0.endpoint.address = .socket(address, port) }] }]
    }
    if http2 { cluster.typedExtensionProtocolOptions = try Self.http2Options() }
    return try EncodedResource(cluster)
  }

  /// `HttpProtocolOptions` asking for HTTP/2 to the destination (Consul's form for http2/grpc).
  static func http2Options() throws -> [String: Google_Protobuf_Any] {
    [LambdaCluster.protocolOptionsKey: try .packing(HTTPProtocolOptions.with { $0.explicitHTTPConfig.http2ProtocolOptions = .init() })]
  }
}
