public import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// The Envoy bootstrap that points a proxy at this server over ADS.
///
/// Like `consul connect envoy -bootstrap`: the node id names the Consul proxy registration, one
/// static cluster reaches the xDS server over HTTP/2, and clusters and listeners come from ADS.
public struct EnvoyBootstrap: Sendable {
  public var nodeID: String
  /// Envoy's `node.cluster`; Consul uses the proxy's service name.
  public var nodeCluster: String
  public var xdsHost: String
  public var xdsPort: Int
  public var adminHost = "127.0.0.1"
  /// 0 lets Envoy pick (read it back with `--admin-address-path`).
  public var adminPort = 19000
  public var variant: XDSVariant = .stateOfTheWorld

  /// Name of the static cluster that reaches lambda-xds.
  public static let xdsClusterName = "lambda-xds"

  public init(nodeID: String, nodeCluster: String, xdsHost: String, xdsPort: Int) {
    self.nodeID = nodeID
    self.nodeCluster = nodeCluster
    self.xdsHost = xdsHost
    self.xdsPort = xdsPort
  }

  public func message() throws -> Envoy_Config_Bootstrap_V3_Bootstrap {
    try .with {
      $0.node.id = nodeID
      $0.node.cluster = nodeCluster
      $0.admin.address = .socket(adminHost, adminPort)
      $0.dynamicResources.adsConfig = .with {
        $0.apiType = variant == .delta ? .deltaGrpc : .grpc
        $0.transportApiVersion = .v3
        $0.setNodeOnFirstMessageOnly = true
        $0.grpcServices = [.with { $0.envoyGrpc.clusterName = Self.xdsClusterName }]
      }
      $0.dynamicResources.cdsConfig = .ads
      $0.dynamicResources.ldsConfig = .ads
      $0.staticResources.clusters = [try xdsCluster()]
    }
  }

  public func json() throws -> String { try EnvoyJSON.string(try message()) }

  private func xdsCluster() throws -> Envoy_Config_Cluster_V3_Cluster {
    let http2 = Envoy_Extensions_Upstreams_Http_V3_HttpProtocolOptions.with {
      $0.explicitHTTPConfig.http2ProtocolOptions = .init()
    }
    let isIP = xdsHost.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
    return try .with {
      $0.name = Self.xdsClusterName
      $0.type = isIP ? .static : .logicalDns
      $0.connectTimeout = .init(seconds: 1)
      $0.typedExtensionProtocolOptions = [
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": try .packing(http2)
      ]
      $0.loadAssignment.clusterName = Self.xdsClusterName
      $0.loadAssignment.endpoints = [
        .with { $0.lbEndpoints = [.with { $0.endpoint.address = .socket(xdsHost, xdsPort) }] }
      ]
    }
  }
}
