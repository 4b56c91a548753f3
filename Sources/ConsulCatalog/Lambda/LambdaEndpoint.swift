/// Where a Lambda Invoke request is sent: AWS's regional endpoint, or an override for VPC
/// endpoints, FIPS endpoints, LocalStack and tests.
///
/// `https://` means TLS with SNI and certificate verification for the host; `http://` means plain.
public struct LambdaEndpoint: Sendable, Hashable, CustomStringConvertible {
  public var usesTLS: Bool
  public var host: String
  public var port: Int

  public init(usesTLS: Bool, host: String, port: Int) {
    self.usesTLS = usesTLS
    self.host = host
    self.port = port
  }

  /// Parses `http://HOST[:PORT]` or `https://HOST[:PORT]` (no path, no user).
  public init(url: String) throws(CatalogError) {
    func fail(_ why: String) -> CatalogError { CatalogError("invalid Lambda endpoint \"\(url)\": \(why)") }
    let tls: Bool
    let rest: Substring
    if url.hasPrefix("https://") {
      (tls, rest) = (true, url.dropFirst(8))
    } else if url.hasPrefix("http://") {
      (tls, rest) = (false, url.dropFirst(7))
    } else {
      throw fail("use http://HOST[:PORT] or https://HOST[:PORT]")
    }
    let authority = rest.hasSuffix("/") ? rest.dropLast() : rest
    guard !authority.contains("/"), !authority.contains("@"), !authority.contains("?") else {
      throw fail("give only a scheme, host and port")
    }
    var host = authority
    var port = tls ? 443 : 80
    if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
      guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
        throw fail("the port must be 1-65535")
      }
      host = authority[..<colon]
      port = number
    }
    if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
    guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:".contains($0)) })
    else { throw fail("the host name is empty or has characters a host name cannot have") }
    self.init(usesTLS: tls, host: String(host), port: port)
  }

  /// AWS's regional endpoint; China regions live under amazonaws.com.cn.
  public static func aws(region: String, partition: String = "aws") -> LambdaEndpoint {
    let domain = partition == "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"
    return LambdaEndpoint(usesTLS: true, host: "lambda.\(region).\(domain)", port: 443)
  }

  /// The Host header value: the port only when it is not the scheme's default.
  public var authority: String {
    let bracketed = host.contains(":") ? "[\(host)]" : host
    return port == (usesTLS ? 443 : 80) ? bracketed : "\(bracketed):\(port)"
  }

  /// True for IPv4 and IPv6 literals, which need no DNS.
  public var isIPAddress: Bool { Self.isIPAddress(host) }

  /// Whether a host is an IPv4 or IPv6 literal (not a name to resolve).
  public static func isIPAddress(_ host: String) -> Bool {
    host.contains(":") || (host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." })
  }

  public var description: String { "\(usesTLS ? "https" : "http")://\(authority)" }
}
