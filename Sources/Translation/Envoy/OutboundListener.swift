import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A transparent proxy's `outbound_listener:127.0.0.1:<port>`, where iptables redirects the
/// application's outbound connections: `original_dst` recovers the address it dialled, and one
/// filter chain per reachable service matches that service's virtual IPs (or, for instances
/// dialled directly, their own addresses). Anything else goes to `original-destination`
/// unless the mesh allows only mesh destinations.
struct OutboundListener: ResourceSpec {
  struct Chain: Hashable {
    var service: String
    /// Sorted, distinct, not shared with any other chain.
    var addresses: [String]
    var filter: UpstreamFilter
  }

  var port: Int
  var chains: [Chain]
  var passthrough: Bool

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    let originalDestination = try Google_Protobuf_Any.packing(Envoy_Extensions_Filters_Listener_OriginalDst_V3_OriginalDst())
    // Consul orders chains by their first address as text, so a new service rarely moves others.
    let ordered = chains.sorted { ($0.addresses.first ?? "", $0.service) < ($1.addresses.first ?? "", $1.service) }
    var listener = Listener.with {
      $0.name = MeshNames.outboundListener(port: port)
      $0.address = .socket("127.0.0.1", port)
      $0.trafficDirection = .outbound
      $0.listenerFilters = [
        .with {
          $0.name = "envoy.filters.listener.original_dst"
          $0.typedConfig = originalDestination
        }
      ]
    }
    listener.filterChains = try ordered.map { chain in
      let filter = try chain.filter.networkFilter(service: chain.service, environment: environment)
      return .with {
        $0.filterChainMatch.prefixRanges = chain.addresses.map { address in
          .with {
            $0.addressPrefix = address
            $0.prefixLen = .init(address.contains(":") ? 128 : 32)
          }
        }
        $0.filters = [filter]
      }
    }
    // One buffer limit per listener: the largest any direct Lambda chain on it needs.
    if let limit = chains.compactMap(\.filter.bufferLimitBytes).max() {
      listener.perConnectionBufferLimitBytes = .init(UInt32(limit))
    }
    if passthrough {
      listener.defaultFilterChain.filters = [
        try NetworkFilters.tcpProxy(statPrefix: MeshNames.originalDestinationPrefix, cluster: MeshNames.originalDestination)
      ]
    }
    return try EncodedResource(listener)
  }
}
