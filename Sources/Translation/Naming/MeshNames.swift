import ConsulCatalog

/// Every name translation gives a resource or a stat prefix, in one place, following Consul's
/// conventions (`agent/connect/sni.go`, `agent/xds/naming.go`, `xdscommon.go`) so dashboards,
/// Consul's stats tags and SNI matching see what they expect.
enum MeshNames {
  /// `<service>.default.<dc>.internal.<trust-domain>`: SNI and cluster name of a mesh service.
  static func sni(_ service: String, datacenter: String, trustDomain: String) -> String {
    "\(service).default.\(datacenter).internal.\(trustDomain)"
  }

  /// The identity in a service's leaf certificate.
  static func identity(_ service: String, datacenter: String, trustDomain: String) -> SPIFFEID {
    SPIFFEID(trustDomain: trustDomain, datacenter: datacenter, service: service)
  }

  /// The Lambda cluster: the SNI name as in Consul; without a trust domain (Connect CA not read
  /// yet) the same name less the trust domain, so direct calls work before the CA is known.
  static func lambdaCluster(_ service: String, datacenter: String, trustDomain: String?) -> String {
    trustDomain.map { sni(service, datacenter: datacenter, trustDomain: $0) }
      ?? "\(service).default.\(datacenter).internal"
  }

  /// An upstream's id (Consul's `EnvoyID`): its name, with `?dc=<dc>` when it names a
  /// datacenter; it also names its route configuration.
  static func upstreamID(_ upstream: Upstream) -> String {
    upstream.datacenter.isEmpty ? upstream.destinationName : "\(upstream.destinationName)?dc=\(upstream.datacenter)"
  }

  /// `<upstream-id>:<bind-address>:<port>`, an explicit upstream's listener.
  static func upstreamListener(_ id: String, address: String, port: Int) -> String {
    "\(id):\(address):\(port)"
  }

  /// `upstream.<service>.default.default.<dc>`: every outbound filter's stat prefix.
  static func statPrefix(_ service: String, datacenter: String) -> String {
    "upstream.\(filterName(service, datacenter: datacenter))"
  }

  /// `<service>.default.default.<dc>`: the virtual host of an inline upstream route.
  static func filterName(_ service: String, datacenter: String) -> String {
    "\(service).default.default.\(datacenter)"
  }

  // MARK: Inbound

  /// `public_listener:<address>:<port>`.
  static func publicListener(address: String, port: Int) -> String { "public_listener:\(address):\(port)" }
  /// The inbound connection manager's and tcp_proxy's stat prefix, and its route's name.
  static let publicListenerPrefix = "public_listener"
  /// The network RBAC filter's stat prefix.
  static let connectAuthz = "connect_authz"
  static let localApp = "local_app"

  // MARK: Transparent proxy

  /// `outbound_listener:127.0.0.1:<port>`.
  static func outboundListener(port: Int) -> String { "outbound_listener:127.0.0.1:\(port)" }
  static let originalDestination = "original-destination"
  static let originalDestinationPrefix = "upstream.original-destination"
  /// `passthrough~<sni>`: instances a transparent proxy dials directly.
  static func passthroughCluster(_ sni: String) -> String { "passthrough~\(sni)" }

  // MARK: Expose paths

  /// `exposed_path_<path without non-alphanumerics>:<address>:<port>`.
  static func exposedPathListener(_ path: String, address: String, port: Int) -> String {
    "exposed_path_\(alphanumerics(path)):\(address):\(port)"
  }

  /// `exposed_path_filter_<path>_<port>`: stat prefix, route and virtual host name.
  static func exposedPathFilter(_ path: String, port: Int) -> String { "exposed_path_filter_\(alphanumerics(path))_\(port)" }

  static func exposedCluster(port: Int) -> String { "exposed_cluster_\(port)" }

  private static func alphanumerics(_ text: String) -> String {
    String(text.filter { $0.isASCII && ($0.isLetter || $0.isNumber) })
  }

  // MARK: Gateways and secrets

  /// `default:<address>:<port>`, Consul's terminating- and mesh-gateway listener name.
  static func gatewayListener(address: String, port: Int) -> String { "default:\(address):\(port)" }

  /// `<dc>.internal.<trust-domain>`: a mesh gateway's cluster to another datacenter's gateways
  /// (Consul's `GatewaySNI`); its filter chain matches `*.<dc>.internal.<trust-domain>`.
  static func datacenterCluster(_ datacenter: String, trustDomain: String) -> String {
    "\(datacenter).internal.\(trustDomain)"
  }

  /// `mesh_gateway_remote.default.<dc>`: a mesh gateway's stat prefix toward a datacenter.
  static func meshGatewayRemotePrefix(_ datacenter: String) -> String { "mesh_gateway_remote.default.\(datacenter)" }
  /// The stat prefix of a mesh gateway's traffic to its own datacenter's services.
  static let meshGatewayLocalPrefix = "mesh_gateway_local.default"

  static let rootsSecret = "mesh-roots"
  static func leafSecret(_ service: String) -> String { "mesh-leaf/\(service)" }
}
