import EnvoyAPI
import GRPCCore
import GRPCNIOTransportHTTP2
public import ResourceCache
import SwiftProtobuf
import Synchronization

/// A well-behaved state-of-the-world client for in-process tests: subscribes to every resource of
/// the given types for one node, ACKs each response and keeps the latest one's resource names
/// and version per type.
public final class ADSWatcher: Sendable {
  public struct Seen: Sendable, Equatable {
    public var version: String
    public var names: [String]
    /// How many responses of this type arrived.
    public var responses: Int
  }

  private let seen = Mutex<[ResourceType: Seen]>([:])

  public init() {}

  public func latest(_ type: ResourceType) -> Seen? { seen.withLock { $0[type] } }

  /// Runs until cancelled or the server ends the stream.
  public func run(port: Int, node: String, types: [ResourceType] = [.cluster, .listener]) async throws {
    let (acks, ackFeed) = AsyncStream.makeStream(of: Envoy_Service_Discovery_V3_DiscoveryRequest.self)
    try await UnrulyClients.withClient(port) { ads in
      try await ads.streamAggregatedResources(
        request: StreamingClientRequest { writer in
          for type in types { try await writer.write(UnrulyClients.request(node, type)) }
          for await ack in acks { try await writer.write(ack) }
        },
        onResponse: { response in
          for try await message in response.messages {
            guard let type = ResourceType(typeURL: message.typeURL) else { continue }
            let names = message.resources.compactMap { try? Self.name(of: $0, type) }.sorted()
            self.seen.withLock { seen in
              seen[type] = Seen(version: message.versionInfo, names: names, responses: (seen[type]?.responses ?? 0) + 1)
            }
            var ack = UnrulyClients.request(node, type)
            ack.versionInfo = message.versionInfo
            ack.responseNonce = message.nonce
            ackFeed.yield(ack)
          }
          ackFeed.finish()
        })
    }
  }

  static func name(of any: Google_Protobuf_Any, _ type: ResourceType) throws -> String {
    switch type {
    case .cluster: try Envoy_Config_Cluster_V3_Cluster(serializedBytes: any.value).name
    case .endpoint: try Envoy_Config_Endpoint_V3_ClusterLoadAssignment(serializedBytes: any.value).clusterName
    case .listener: try Envoy_Config_Listener_V3_Listener(serializedBytes: any.value).name
    case .route: try Envoy_Config_Route_V3_RouteConfiguration(serializedBytes: any.value).name
    case .secret: try Envoy_Extensions_TransportSockets_Tls_V3_Secret(serializedBytes: any.value).name
    }
  }
}
