import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// The cluster that reaches AWS Lambda's Invoke API (or the endpoint override), identical on
/// sidecars (direct mode) and gateways, so it is encoded once and shared. Named like the
/// service's mesh cluster, as Consul names the cluster it replaces.
struct LambdaCluster: ResourceSpec {
  static let metadataNamespace = "com.amazonaws.lambda"
  static let protocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"

  var service: String
  var function: LambdaFunction

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    let name = MeshNames.lambdaCluster(service, datacenter: environment.datacenter, trustDomain: environment.trustDomain)
    let options = environment.options
    let endpoint = options.endpoint(for: function)
    var cluster = Cluster.with {
      $0.name = name
      $0.type = endpoint.isIPAddress ? .static : .logicalDns
      $0.dnsLookupFamily = .v4Only
      $0.connectTimeout = .milliseconds(options.connectTimeoutMilliseconds)
      // The signed request (base64 envelope included) and a synchronous answer pass whole.
      $0.perConnectionBufferLimitBytes = .init(UInt32(function.maxRequestBytes * 4 / 3 + 64 * 1024))
      $0.loadAssignment.clusterName = name
      $0.loadAssignment.endpoints = [
        .with { $0.lbEndpoints = [.with { $0.endpoint.address = .socket(endpoint.host, endpoint.port) }] }
      ]
    }
    switch function.filterMode {
    case .downstream:
      // A bool: the filter ignores the string "true" and then silently forwards unsigned.
      cluster.metadata.filterMetadata[Self.metadataNamespace] = .with {
        $0.fields["egress_gateway"] = .init(boolValue: true)
      }
    case .upstream:
      let protocolOptions = try Envoy_Extensions_Upstreams_Http_V3_HttpProtocolOptions.with {
        $0.explicitHTTPConfig.httpProtocolOptions = .init()
        $0.httpFilters = [try HTTPFilters.lambda(function, endpoint: endpoint), try HTTPFilters.upstreamCodec()]
      }
      cluster.typedExtensionProtocolOptions = [Self.protocolOptionsKey: try .packing(protocolOptions)]
    }
    if endpoint.usesTLS {
      cluster.transportSocket = try TLSSockets.upstream(verifyingHost: endpoint.host, caBundle: options.caBundlePath)
    }
    return try EncodedResource(cluster)
  }
}

extension Google_Protobuf_Duration {
  static func milliseconds(_ value: Int) -> Self {
    .init(seconds: Int64(value / 1000), nanos: Int32(value % 1000) * 1_000_000)
  }
}
