/// How long a name may be. Longer names cannot work in Envoy (a TLS server name, which holds a
/// mesh service's name, its datacenter and the trust domain, is at most 255 bytes) and would only
/// make every later step slower, so they are refused where they are read, with a reason.
public enum CatalogLimits {
  public static let maxNameLength = 255

  static func check(_ name: String, _ what: String) throws(CatalogError) {
    guard name.utf8.count <= maxNameLength else {
      throw CatalogError("\(what) is \(name.utf8.count) bytes long; at most \(maxNameLength) are allowed")
    }
  }
}
