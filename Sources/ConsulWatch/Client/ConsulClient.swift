public import AsyncHTTPClient
public import ConsulCatalog
public import Foundation
public import Logging
import Synchronization
import NIOCore
import NIOHTTP1
public import NIOSSL

/// One answer from Consul: the decoded body and the blocking index.
public struct ConsulReply: Sendable {
  public var body: JSONValue
  public var index: UInt64
}

/// Reads Consul's HTTP API: token header, `dc`, optional stale reads, and blocking queries.
public struct ConsulClient: Sendable {
  public let config: ConsulConfig
  let http: HTTPClient
  /// What Consul's answers said about its ACLs (`X-Consul-Default-Acl-Policy`), last seen.
  let observed = Shared<String?>(nil)
  /// Whether Consul answers, shared by every watch that uses this client.
  public let health: ConsulHealth
  public let metrics: ConsulMetrics

  /// `allow` or `deny` once an answer carried the header.
  public var aclDefaultPolicy: String? { observed.value.withLock { $0 } }

  public init(config: ConsulConfig, http: HTTPClient, health: ConsulHealth? = nil, metrics: ConsulMetrics = .none) {
    self.config = config
    self.http = http
    self.health = health ?? ConsulHealth(logger: Logger(label: "lambda-xds.consul"))
    self.metrics = metrics
  }

  /// Larger answers are refused, not buffered: a runaway catalog must not exhaust memory.
  public static let maxResponseBytes = 64 * 1024 * 1024

  /// Closes the client's connections; call once the watches have stopped.
  public func shutdown() async throws { try await http.shutdown() }

  /// An HTTP client for Consul. Every blocking query holds one HTTP/1.1 connection (HTTP/2 is
  /// used over TLS), so the pool must allow one per watch; Consul itself allows 200 connections
  /// per client address by default (`limits.http_max_conns_per_client`).
  public static func makeHTTPClient(_ config: ConsulConfig, maxConnections: Int = 512) throws -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    // A failed TLS handshake is retried until the connect deadline; fail fast, then back off.
    configuration.timeout.connect = .seconds(5)
    configuration.connectionPool = .init(
      idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
    // A failed connection fails its request at once: ConsulHealth decides when to try again. The
    // pool's own backoff grows with every refused attempt (up to a minute) and would hold
    // requests back long after Consul is up again.
    configuration.connectionPool.retryConnectionEstablishment = false
    if config.scheme == .https {
      configuration.tlsConfiguration = try tlsConfiguration(config)
      // CONSUL_TLS_SERVER_NAME: requests name that host (SNI and certificate check) while the
      // connection goes to the configured address.
      if let name = config.tlsServerName { configuration.dnsOverride = [name: config.host] }
    }
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }

  /// A TLS configuration from `CONSUL_CACERT`, the client certificate and `CONSUL_HTTP_SSL_VERIFY`.
  public static func tlsConfiguration(_ config: ConsulConfig) throws -> TLSConfiguration {
    var tls = TLSConfiguration.makeClientConfiguration()
    if let ca = config.caCertFile { tls.trustRoots = .file(ca) }
    if let cert = config.clientCertFile, let key = config.clientKeyFile {
      tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
      tls.privateKey = .file(key)
    }
    if !config.verifyTLS { tls.certificateVerification = .none }
    return tls
  }

  /// GET a path; with `index`, a blocking query that returns after a change or `wait`.
  /// - Parameters:
  ///   - token: overrides the configured ACL token for this request.
  ///   - timeout: overrides the request timeout (default: 15 s, blocking queries `wait` and more).
  ///   - stale: overrides `--consul-stale` for this request.
  public func get(
    _ path: String, query: [String: String] = [:], index: UInt64 = 0, wait: Duration = .seconds(300),
    token: String? = nil, timeout: Duration? = nil, stale: Bool? = nil
  ) async throws(ConsulError) -> ConsulReply {
    var parameters = query
    // A query about another datacenter keeps its own `dc`.
    if let dc = config.datacenter, parameters["dc"] == nil { parameters["dc"] = dc }
    if stale ?? config.stale { parameters["stale"] = "" }
    if index > 0 {
      parameters["index"] = String(index)
      parameters["wait"] = "\(wait.components.seconds)s"
    }
    var request = HTTPClientRequest(url: url(path, parameters))
    if let token = token ?? config.token { request.headers.add(name: "X-Consul-Token", value: token) }
    // The server adds up to wait/16 of jitter; allow that plus room for a leader election.
    let timeout = timeout ?? (index > 0 ? wait + wait / 8 + .seconds(15) : .seconds(15))
    let response: HTTPClientResponse
    let bytes: ByteBuffer
    let started = ContinuousClock.now
    do {
      response = try await http.execute(request, timeout: .nanoseconds(Int64(timeout / .nanoseconds(1))))
      bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
    } catch is NIOTooManyBytesError {
      metrics.request(path, code: 200, elapsed: ContinuousClock.now - started)
      throw ConsulError(.tooLarge, "\(path): the answer is larger than \(Self.maxResponseBytes / 1024 / 1024) MiB; ignored")
    } catch {
      metrics.request(path, code: nil, elapsed: ContinuousClock.now - started)
      throw ConsulError(.transport, "\(path): \(error)")
    }
    metrics.request(path, code: Int(response.status.code), elapsed: ContinuousClock.now - started)
    var text: String { String(buffer: bytes) }
    switch response.status.code {
    case 200:
      if let policy = response.headers.first(name: "X-Consul-Default-Acl-Policy") {
        observed.value.withLock { $0 = policy.lowercased() }
      }
      let replyIndex = response.headers.first(name: "X-Consul-Index").flatMap(UInt64.init) ?? 0
      do {
        return ConsulReply(body: try JSONValue(parsing: Data(bytes.readableBytesView)), index: replyIndex)
      } catch {
        throw ConsulError(.server, "\(path): undecodable answer: \(error)")
      }
    default: throw Self.failure(path, Int(response.status.code), text)
    }
  }

  /// What an answer other than 200 means.
  static func failure(_ path: String, _ code: Int, _ text: String) -> ConsulError {
    switch code {
    case 403: ConsulError(.forbidden, "\(path): \(text)")
    case 404: ConsulError(.notFound, "\(path): \(text)")
    case 400..<500: ConsulError(.badRequest, "\(path): \(code) \(text)")
    default: ConsulError(.server, "\(path): \(code) \(text)")
    }
  }

  /// PUT a JSON body (an agent write: registering or deregistering a service); Consul's answer
  /// is not read beyond its status.
  public func put(_ path: String, json body: Data = Data()) async throws(ConsulError) {
    var request = HTTPClientRequest(url: url(path, [:]))
    request.method = .PUT
    request.body = .bytes(ByteBuffer(bytes: body))
    request.headers.add(name: "content-type", value: "application/json")
    if let token = config.token { request.headers.add(name: "X-Consul-Token", value: token) }
    let started = ContinuousClock.now
    let response: HTTPClientResponse
    let text: String
    do {
      response = try await http.execute(request, timeout: .seconds(15))
      text = String(buffer: try await response.body.collect(upTo: 1 << 20))
    } catch {
      metrics.request(path, code: nil, elapsed: ContinuousClock.now - started)
      throw ConsulError(.transport, "\(path): \(error)")
    }
    metrics.request(path, code: Int(response.status.code), elapsed: ContinuousClock.now - started)
    guard response.status.code == 200 else { throw Self.failure(path, Int(response.status.code), text) }
  }

  func url(_ path: String, _ parameters: [String: String]) -> String {
    var components = URLComponents()
    components.queryItems = parameters.sorted { $0.key < $1.key }.map {
      URLQueryItem(name: $0.key, value: $0.value.isEmpty ? nil : $0.value)
    }
    let query = parameters.isEmpty ? "" : "?" + (components.percentEncodedQuery ?? "")
    switch config.scheme {
    case .unix:
      return URL(httpURLWithSocketPath: config.address, uri: path + query)!.absoluteString
    case .http:
      return "http://\(config.address)\(path)\(query)"
    case .https:
      let address = config.tlsServerName.map { config.address(withHost: $0) } ?? config.address
      return "https://\(address)\(path)\(query)"
    }
  }
}
