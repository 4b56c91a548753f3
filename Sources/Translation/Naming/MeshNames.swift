/// Every name translation gives a resource, in one place, following Consul's conventions so
/// stats, dumps and SNI match what Consul users know (`agent/connect/sni.go`).
enum MeshNames {
  /// `<service>.default.<dc>.internal.<trust-domain>`: SNI and cluster name of a mesh service.
  static func sni(_ service: String, datacenter: String, trustDomain: String) -> String {
    "\(service).default.\(datacenter).internal.\(trustDomain)"
  }

  /// The identity in a service's leaf certificate.
  static func spiffeID(_ service: String, datacenter: String, trustDomain: String) -> String {
    "spiffe://\(trustDomain)/ns/default/dc/\(datacenter)/svc/\(service)"
  }

  /// The Lambda cluster: the SNI name as in Consul; without a trust domain (Connect CA not read
  /// yet) the same name less the trust domain, so direct calls work before the CA is known.
  static func lambdaCluster(_ service: String, datacenter: String, trustDomain: String?) -> String {
    trustDomain.map { sni(service, datacenter: datacenter, trustDomain: $0) }
      ?? "\(service).default.\(datacenter).internal"
  }

  /// `<upstream>:<bind-address>:<port>`, Consul's outbound listener name.
  static func upstreamListener(_ service: String, address: String, port: Int) -> String {
    "\(service):\(address):\(port)"
  }

  /// `default:<address>:<port>`, Consul's terminating-gateway listener name.
  static func gatewayListener(address: String, port: Int) -> String { "default:\(address):\(port)" }

  static func statPrefix(_ service: String, datacenter: String) -> String {
    "upstream.\(service).default.default.\(datacenter)"
  }

  static func virtualHost(_ service: String, datacenter: String) -> String {
    "\(service).default.default.\(datacenter)"
  }

  static let rootsSecret = "mesh-roots"
  static func leafSecret(_ service: String) -> String { "mesh-leaf/\(service)" }
}
