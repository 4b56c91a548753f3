/// The service mesh's certificates: the Connect CA roots and a leaf per service, as PEM.
///
/// Comes from Consul (`/v1/connect/ca/roots`, `/v1/agent/connect/ca/leaf/<service>`) or from the
/// embedded dev CA. A value, so a rotation is a new value and only the changed secrets are pushed.
public struct MeshCertificates: Sendable, Equatable {
  public struct Leaf: Sendable, Hashable {
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
      self.certificatePEM = certificatePEM
      self.privateKeyPEM = privateKeyPEM
    }
  }

  /// Every active root, concatenated: proxies trust all of them during a CA rotation.
  public var rootsPEM: String
  /// By service name (not instance or proxy id): every instance of a service shares its identity.
  public var leaves: [String: Leaf]

  public init(rootsPEM: String = "", leaves: [String: Leaf] = [:]) {
    self.rootsPEM = rootsPEM
    self.leaves = leaves
  }

  public static let none = MeshCertificates()
}
