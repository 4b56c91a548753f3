import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// A sidecar's cluster toward a mesh service (`<service>.default.<dc>.internal.<td>`): EDS
/// endpoints are the service's sidecars and native instances, or the terminating gateways that
/// front it; mTLS with the caller's leaf, SNI naming the service and its SPIFFE identity
/// expected, as Consul builds it. Panic routing is off, so an unhealthy endpoint never gets traffic.
struct MeshCluster: ResourceSpec {
  var service: String
  /// The calling proxy's service, whose leaf it presents.
  var caller: String
  var settings: UpstreamSettings
  /// The service's datacenter; nil: this one.
  var datacenter: String? = nil

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    guard let trustDomain = environment.trustDomain else { throw TranslationError("no trust domain") }
    let datacenter = datacenter ?? environment.datacenter
    let sni = MeshNames.sni(service, datacenter: datacenter, trustDomain: trustDomain)
    let socket = try TLSSockets.meshUpstream(
      callerLeaf: MeshNames.leafSecret(caller), sni: sni,
      expected: MeshNames.identity(service, datacenter: datacenter, trustDomain: trustDomain))
    var cluster = Cluster.with {
      $0.name = sni
      $0.altStatName = sni
      $0.type = .eds
      $0.edsClusterConfig.edsConfig = .ads
      $0.connectTimeout = .milliseconds(settings.connectTimeoutMilliseconds ?? environment.options.connectTimeoutMilliseconds)
      $0.circuitBreakers = .init()
      $0.outlierDetection = .init()
      $0.commonLbConfig.healthyPanicThreshold = .init()
      $0.transportSocket = socket
    }
    if let limits = settings.limits {
      cluster.circuitBreakers.thresholds = [.with { threshold in
        limits.maxConnections.map { threshold.maxConnections = .init(UInt32(clamping: $0)) }
        limits.maxPendingRequests.map { threshold.maxPendingRequests = .init(UInt32(clamping: $0)) }
        limits.maxConcurrentRequests.map { threshold.maxRequests = .init(UInt32(clamping: $0)) }
      }]
    }
    if let check = settings.passiveHealthCheck {
      cluster.outlierDetection = .with { outlier in
        check.maxFailures.map { outlier.consecutive5Xx = .init(UInt32(clamping: $0)) }
        check.interval.map { outlier.interval = .init($0) }
        check.enforcingConsecutive5xx.map { outlier.enforcingConsecutive5Xx = .init(UInt32(clamping: $0)) }
        check.maxEjectionPercent.map { outlier.maxEjectionPercent = .init(UInt32(clamping: $0)) }
        check.baseEjectionTime.map { outlier.baseEjectionTime = .init($0) }
      }
    }
    if settings.usesHTTP2 { cluster.typedExtensionProtocolOptions = try LocalAppCluster.http2Options() }
    return try EncodedResource(cluster)
  }
}

/// A cluster's endpoints: every instance with its health (as Consul judges it) and weight.
struct MeshEndpoints: ResourceSpec {
  struct Endpoint: Hashable {
    var address: String
    var port: Int
    var healthy: Bool
    var weight: Int

    init(address: String, port: Int, healthy: Bool, weight: Int = 1) {
      self.address = address
      self.port = port
      self.healthy = healthy
      self.weight = weight
    }

    /// Consul's rules: unhealthy when any check is critical; the warning weight while warning;
    /// weights clamped to 1-128, and a weight below 1 marks the endpoint unhealthy.
    init(_ instance: ServiceInstance) {
      address = instance.address
      port = instance.port
      let weight = instance.health == .warning ? instance.weights.warning : instance.weights.passing
      healthy = instance.healthy && weight >= 1
      self.weight = min(max(weight, 1), 128)
    }
  }

  var cluster: String
  var endpoints: [Endpoint]

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    try EncodedResource(
      ClusterLoadAssignment.with {
        $0.clusterName = cluster
        // No instance still gives one (empty) locality group, as in Consul.
        $0.endpoints = [
          .with {
            $0.lbEndpoints = endpoints.map { endpoint in
              .with {
                $0.endpoint.address = .socket(endpoint.address, endpoint.port)
                $0.healthStatus = endpoint.healthy ? .healthy : .unhealthy
                $0.loadBalancingWeight = .init(UInt32(endpoint.weight))
              }
            }
          }
        ]
      })
  }
}

/// The clusters a transparent proxy sends to whatever address the application dialled:
/// `original-destination` (outside the mesh, no TLS) and `passthrough~<sni>` (a mesh service's
/// instances dialled directly, with mTLS to that service).
struct OriginalDestinationCluster: ResourceSpec {
  /// nil: `original-destination`.
  var passthroughService: String?
  var caller: String

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    var cluster = Cluster.with {
      $0.name = MeshNames.originalDestination
      $0.type = .originalDst
      $0.lbPolicy = .clusterProvided
      $0.connectTimeout = .milliseconds(environment.options.connectTimeoutMilliseconds)
    }
    if let service = passthroughService {
      guard let trustDomain = environment.trustDomain else { throw TranslationError("no trust domain") }
      let sni = MeshNames.sni(service, datacenter: environment.datacenter, trustDomain: trustDomain)
      cluster.name = MeshNames.passthroughCluster(sni)
      cluster.transportSocket = try TLSSockets.meshUpstream(
        callerLeaf: MeshNames.leafSecret(caller), sni: sni,
        expected: MeshNames.identity(service, datacenter: environment.datacenter, trustDomain: trustDomain))
    }
    return try EncodedResource(cluster)
  }
}

/// Something translation could not build; reported as a finding for the part that needed it.
struct TranslationError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

extension Google_Protobuf_Duration {
  init(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    self.init(seconds: seconds, nanos: Int32(attoseconds / 1_000_000_000))
  }
}
