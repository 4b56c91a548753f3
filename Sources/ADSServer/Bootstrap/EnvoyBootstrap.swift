public import ADSProtocol
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
  /// Every lambda-xds replica Envoy may use (IP addresses, or one DNS name Envoy resolves).
  public var xdsAddresses: [Address]
  public var adminHost = "127.0.0.1"
  /// 0 lets Envoy pick (read it back with `--admin-address-path`).
  public var adminPort = 19000
  public var variant: XDSVariant = .stateOfTheWorld
  /// TLS to the xDS server: the CA that signed its certificate, the name it presents (SNI and
  /// SAN check), and optionally Envoy's own certificate and key for mutual TLS.
  public var tls: TLS?
  /// Sent as `x-consul-token` on the xDS stream (lambda-xds checks it when told to).
  public var token: String?

  /// One xDS server address.
  public struct Address: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
      self.host = host
      self.port = port
    }

    var isIP: Bool {
      host.contains(":")
        ? host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } : host.allSatisfy { $0.isNumber || $0 == "." }
    }
  }

  public struct TLS: Sendable {
    public var caPath: String
    public var serverName: String?
    public var certificatePath: String?
    public var keyPath: String?

    public init(caPath: String, serverName: String? = nil, certificatePath: String? = nil, keyPath: String? = nil) {
      self.caPath = caPath
      self.serverName = serverName
      self.certificatePath = certificatePath
      self.keyPath = keyPath
    }
  }

  /// Name of the static cluster that reaches lambda-xds.
  public static let xdsClusterName = "lambda-xds"

  public init(nodeID: String, nodeCluster: String, xdsHost: String, xdsPort: Int) {
    self.init(nodeID: nodeID, nodeCluster: nodeCluster, xdsAddresses: [Address(host: xdsHost, port: xdsPort)])
  }

  public init(nodeID: String, nodeCluster: String, xdsAddresses: [Address]) {
    self.nodeID = nodeID
    self.nodeCluster = nodeCluster
    self.xdsAddresses = xdsAddresses
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
        $0.grpcServices = [
          .with {
            $0.envoyGrpc.clusterName = Self.xdsClusterName
            if let token {
              $0.initialMetadata = [.with {
                $0.key = StreamAuthorization.tokenKey
                $0.value = token
              }]
            }
          }
        ]
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
    let allIPs = xdsAddresses.allSatisfy(\.isIP)
    return try .with {
      $0.name = Self.xdsClusterName
      // Addresses as given; a DNS name with every address it resolves to (STRICT_DNS), so a
      // name in front of several replicas fails over too. Round robin: when a replica is gone,
      // Envoy's next attempt to reopen the stream goes to the next one.
      $0.type = allIPs ? .static : .strictDns
      $0.connectTimeout = .init(seconds: 1)
      $0.typedExtensionProtocolOptions = [
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": try .packing(http2)
      ]
      if let tls { $0.transportSocket = try Self.transportSocket(tls) }
      $0.loadAssignment.clusterName = Self.xdsClusterName
      $0.loadAssignment.endpoints = [
        .with { $0.lbEndpoints = xdsAddresses.map { address in .with { $0.endpoint.address = .socket(address.host, address.port) } } }
      ]
    }
  }
}

extension EnvoyBootstrap {
  static func transportSocket(_ tls: TLS) throws -> Envoy_Config_Core_V3_TransportSocket {
    let context = Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext.with {
      if let name = tls.serverName {
        $0.sni = name
        $0.commonTlsContext.validationContext.matchTypedSubjectAltNames = [.with {
          $0.sanType = .dns
          $0.matcher.exact = name
        }]
      }
      $0.commonTlsContext.validationContext.trustedCa.filename = tls.caPath
      // gRPC needs HTTP/2 negotiated by ALPN over TLS.
      $0.commonTlsContext.alpnProtocols = ["h2"]
      if let certificate = tls.certificatePath, let key = tls.keyPath {
        $0.commonTlsContext.tlsCertificates = [.with {
          $0.certificateChain.filename = certificate
          $0.privateKey.filename = key
        }]
      }
    }
    return try .tls(context)
  }
}
