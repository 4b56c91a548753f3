import Foundation

/// How to reach Consul: the same environment variables and meaning as Consul's own Go client.
public struct ConsulConfig: Sendable, Equatable {
  public enum Scheme: String, Sendable { case http, https, unix }

  public var scheme: Scheme = .http
  /// `host:port` (plus an optional path prefix), or the socket path for `unix`.
  public var address = "127.0.0.1:8500"
  public var token: String?
  public var caCertFile: String?
  public var clientCertFile: String?
  public var clientKeyFile: String?
  public var tlsServerName: String?
  public var verifyTLS = true
  public var datacenter: String?
  /// Let any server answer (`?stale`): cheaper at scale, usually < 50 ms behind.
  public var stale = false

  public init() {}

  /// Reads `CONSUL_HTTP_ADDR`, `CONSUL_HTTP_TOKEN(_FILE)`, `CONSUL_HTTP_SSL(_VERIFY)`,
  /// `CONSUL_CACERT`, `CONSUL_CLIENT_CERT`, `CONSUL_CLIENT_KEY`, `CONSUL_TLS_SERVER_NAME`.
  /// - Parameter readFile: reads the token file (injected for tests).
  public init(environment: [String: String], readFile: (String) throws -> String) throws(ConsulError) {
    self.init()
    if let address = environment["CONSUL_HTTP_ADDR"], !address.isEmpty { try setAddress(address) }
    if let ssl = environment["CONSUL_HTTP_SSL"], try Self.bool(ssl, "CONSUL_HTTP_SSL"), scheme == .http {
      scheme = .https
    }
    if let verify = environment["CONSUL_HTTP_SSL_VERIFY"] { verifyTLS = try Self.bool(verify, "CONSUL_HTTP_SSL_VERIFY") }
    token = environment["CONSUL_HTTP_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    if let file = environment["CONSUL_HTTP_TOKEN_FILE"], !file.isEmpty {
      let text: String
      do { text = try readFile(file) } catch {
        throw ConsulError(.configuration, "cannot read CONSUL_HTTP_TOKEN_FILE \(file): \(error)")
      }
      let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
      if !trimmed.isEmpty { token = trimmed }
    }
    caCertFile = environment["CONSUL_CACERT"].flatMap { $0.isEmpty ? nil : $0 }
    clientCertFile = environment["CONSUL_CLIENT_CERT"].flatMap { $0.isEmpty ? nil : $0 }
    clientKeyFile = environment["CONSUL_CLIENT_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    if (clientCertFile == nil) != (clientKeyFile == nil) {
      throw ConsulError(.configuration, "CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY must be set together")
    }
    if let name = environment["CONSUL_TLS_SERVER_NAME"], !name.isEmpty {
      tlsServerName = name.split(separator: ":").first.map(String.init)
    }
  }

  /// `host:port`, `http://host:port[/prefix]`, `https://…` or `unix:///path`.
  public mutating func setAddress(_ text: String) throws(ConsulError) {
    if text.hasPrefix("unix://") {
      scheme = .unix
      address = String(text.dropFirst("unix://".count))
    } else if text.hasPrefix("https://") {
      scheme = .https
      address = String(text.dropFirst("https://".count))
    } else if text.hasPrefix("http://") {
      scheme = .http
      address = String(text.dropFirst("http://".count))
    } else if text.contains("://") {
      throw ConsulError(.configuration, "unsupported Consul address \(text)")
    } else {
      address = text
    }
    while address.hasSuffix("/") && scheme != .unix { address.removeLast() }
    guard !address.isEmpty else { throw ConsulError(.configuration, "empty Consul address") }
  }

  /// The host part of a TCP address (`[::1]:8501/prefix` -> `::1`).
  public var host: String {
    let authority = address.split(separator: "/", maxSplits: 1).first.map(String.init) ?? address
    if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
      return String(authority[authority.index(after: authority.startIndex)..<end])
    }
    return authority.split(separator: ":").first.map(String.init) ?? authority
  }

  /// The address with another host in front (port and path prefix kept).
  public func address(withHost newHost: String) -> String {
    let current = address.hasPrefix("[") ? "[\(host)]" : host
    return newHost + address.dropFirst(current.count)
  }

  /// Go's strconv.ParseBool, as Consul's client uses.
  static func bool(_ text: String, _ name: String) throws(ConsulError) -> Bool {
    switch text {
    case "1", "t", "T", "TRUE", "true", "True": return true
    case "0", "f", "F", "FALSE", "false", "False": return false
    default: throw ConsulError(.configuration, "\(name) must be a boolean, not \"\(text)\"")
    }
  }
}
