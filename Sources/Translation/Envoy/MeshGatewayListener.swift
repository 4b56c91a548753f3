import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A mesh gateway's listener, `default:<address>:<port>`, as Consul builds it: TLS is only
/// inspected for its SNI, never terminated (the mTLS session runs from the caller to the
/// destination). A chain per other datacenter matches `*.<dc>.internal.<td>` and forwards to
/// that datacenter's gateways; the last chain forwards to the local cluster the SNI names.
struct MeshGatewayListener: ResourceSpec {
  var address: String
  var port: Int
  /// The other datacenters it has a route to.
  var datacenters: [String]

  /// `envoy.filters.network.sni_cluster` takes an empty config message.
  static let sniClusterType = "type.googleapis.com/envoy.extensions.filters.network.sni_cluster.v3.SniCluster"

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    guard let trustDomain = environment.trustDomain else { throw TranslationError("no trust domain") }
    let inspector = try Google_Protobuf_Any.packing(Envoy_Extensions_Filters_Listener_TlsInspector_V3_TlsInspector())
    var chains: [FilterChain] = try datacenters.map { datacenter in
      let cluster = MeshNames.datacenterCluster(datacenter, trustDomain: trustDomain)
      let filter = try NetworkFilters.tcpProxy(statPrefix: MeshNames.meshGatewayRemotePrefix(datacenter), cluster: cluster)
      return .with {
        $0.filterChainMatch.serverNames = ["*.\(cluster)"]
        $0.filters = [filter]
      }
    }
    let sniCluster = NetworkFilter.with {
      $0.name = "envoy.filters.network.sni_cluster"
      $0.typedConfig = Google_Protobuf_Any.with { $0.typeURL = Self.sniClusterType }
    }
    // An empty cluster: sni_cluster sets the one to use from the SNI.
    let local = try NetworkFilters.tcpProxy(statPrefix: MeshNames.meshGatewayLocalPrefix, cluster: "")
    chains.append(.with { $0.filters = [sniCluster, local] })
    return try EncodedResource(
      Listener.with {
        $0.name = MeshNames.gatewayListener(address: address, port: port)
        $0.address = .socket(address, port)
        $0.listenerFilters = [
          .with {
            $0.name = "envoy.filters.listener.tls_inspector"
            $0.typedConfig = inspector
          }
        ]
        $0.filterChains = chains
      })
  }
}

/// A mesh gateway's cluster to another datacenter's mesh gateways (`<dc>.internal.<td>`), at
/// their WAN addresses: EDS, or LOGICAL_DNS when they have host names, as in Consul.
struct DatacenterCluster: ResourceSpec {
  var datacenter: String
  var gateways: [MeshEndpoints.Endpoint]

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    guard let trustDomain = environment.trustDomain else { throw TranslationError("no trust domain") }
    var cluster = Cluster.with {
      $0.name = MeshNames.datacenterCluster(datacenter, trustDomain: trustDomain)
      $0.altStatName = $0.name
      $0.connectTimeout = .milliseconds(environment.options.connectTimeoutMilliseconds)
      $0.outlierDetection = .init()
    }
    cluster.discover(gateways)
    return try EncodedResource(cluster)
  }
}

/// A mesh gateway's cluster to one of its datacenter's services, named by the service's SNI:
/// EDS, no TLS (the caller's session passes through to the service's sidecar or gateway).
struct LocalServiceCluster: ResourceSpec {
  var service: String

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    guard let trustDomain = environment.trustDomain else { throw TranslationError("no trust domain") }
    let name = MeshNames.sni(service, datacenter: environment.datacenter, trustDomain: trustDomain)
    return try EncodedResource(
      Cluster.with {
        $0.name = name
        $0.altStatName = name
        $0.type = .eds
        $0.edsClusterConfig.edsConfig = .ads
        $0.connectTimeout = .milliseconds(environment.options.connectTimeoutMilliseconds)
        $0.outlierDetection = .init()
      })
  }
}
