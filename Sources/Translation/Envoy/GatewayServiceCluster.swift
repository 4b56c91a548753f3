import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A terminating gateway's cluster to a linked service outside the mesh, named by the service's
/// SNI, as Consul builds it: EDS to its catalog instances when they have IP addresses, else
/// LOGICAL_DNS to one instance's host name (the first healthy one, else the last), with the TLS
/// the gateway entry originates (CA file, optional client certificate, SNI).
struct GatewayServiceCluster: ResourceSpec {
  var service: String
  var instances: [MeshEndpoints.Endpoint]
  var tls: OriginationTLS?
  var http2: Bool

  var usesDNS: Bool { instances.usesDNS }

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    guard let trustDomain = environment.trustDomain else { throw TranslationError("no trust domain") }
    let name = MeshNames.sni(service, datacenter: environment.datacenter, trustDomain: trustDomain)
    var cluster = Cluster.with {
      $0.name = name
      $0.altStatName = name
      $0.connectTimeout = .milliseconds(environment.options.connectTimeoutMilliseconds)
      $0.outlierDetection = .init()
    }
    cluster.discover(instances)
    if let tls {
      cluster.transportSocket = try .tls(
        UpstreamTLSContext.with { context in
          if let sni = tls.sni { context.sni = sni }
          context.commonTlsContext.tlsParams = .init()
          context.commonTlsContext.validationContext = .with {
            $0.trustedCa.filename = tls.caFile
            if let sni = tls.sni {
              $0.matchTypedSubjectAltNames = [.with {
                $0.sanType = .dns
                $0.matcher.exact = sni
              }]
            }
          }
          if let certificate = tls.certFile, let key = tls.keyFile {
            context.commonTlsContext.tlsCertificates = [.with {
              $0.certificateChain.filename = certificate
              $0.privateKey.filename = key
            }]
          }
        })
    }
    if http2 { cluster.typedExtensionProtocolOptions = try LocalAppCluster.http2Options() }
    return try EncodedResource(cluster)
  }
}

extension [MeshEndpoints.Endpoint] {
  /// Whether some endpoint is addressed by host name (then DNS, not EDS, as in Consul).
  var usesDNS: Bool { contains { !LambdaEndpoint.isIPAddress($0.address) } }
}

extension Cluster {
  /// How a gateway's cluster finds these endpoints, as Consul decides: EDS when all are IP
  /// addresses, else LOGICAL_DNS to one host name (the first healthy one, else the last).
  mutating func discover(_ endpoints: [MeshEndpoints.Endpoint]) {
    guard endpoints.usesDNS else {
      type = .eds
      edsClusterConfig.edsConfig = .ads
      return
    }
    let named = endpoints.filter { !LambdaEndpoint.isIPAddress($0.address) }
    let chosen = named.first(where: \.healthy) ?? named.last!
    type = .logicalDns
    dnsLookupFamily = .v4Only
    loadAssignment = .with {
      $0.clusterName = name
      $0.endpoints = [.with {
        $0.lbEndpoints = [.with {
          $0.endpoint.address = .socket(chosen.address, chosen.port)
          $0.healthStatus = chosen.healthy ? .healthy : .unhealthy
        }]
      }]
    }
  }
}
