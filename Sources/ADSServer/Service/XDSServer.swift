import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore

/// TLS for the xDS endpoint: the server's certificate and key (PEM files), and optionally a CA
/// whose client certificates are required (mutual TLS).
public struct XDSServerTLS: Sendable {
  public var certificatePath: String
  public var keyPath: String
  public var clientCAPath: String?

  public init(certificatePath: String, keyPath: String, clientCAPath: String? = nil) {
    self.certificatePath = certificatePath
    self.keyPath = keyPath
    self.clientCAPath = clientCAPath
  }
}

/// The xDS endpoint: ADS over gRPC on HTTP/2, plaintext or TLS.
public struct XDSServer: Sendable {
  public var host: String
  public var port: Int
  public var tls: XDSServerTLS?
  /// Envoy's first delta request lists every resource it holds; gRPC's usual 4 MiB is too small.
  public var maxRequestBytes: Int
  /// The listen queue. SwiftNIO's default of 128 overflows when thousands of proxies reconnect
  /// at once (each overflow costs the client a SYN retry, a second or more); the kernel caps it
  /// at `net.core.somaxconn`.
  public var backlog: Int

  /// Survives 10,000 proxies dialling at once.
  public static let defaultBacklog = 4096

  let service: AggregatedDiscoveryService

  public init(
    host: String, port: Int, service: AggregatedDiscoveryService,
    maxRequestBytes: Int = 64 * 1024 * 1024, backlog: Int = defaultBacklog
  ) {
    self.host = host
    self.port = port
    self.service = service
    self.maxRequestBytes = maxRequestBytes
    self.backlog = backlog
  }

  /// How the server stops when asked to: `signal` returns when it should drain; then it accepts
  /// no new streams, and open ones have `time` to end before they are cancelled.
  public struct Drain: Sendable {
    public var signal: @Sendable () async -> Void
    public var time: Duration

    public init(time: Duration, signal: @escaping @Sendable () async -> Void) {
      self.signal = signal
      self.time = time
    }
  }

  /// Serves until the task is cancelled, or until a drain ends. `onListening` receives the bound
  /// port (useful with 0). IPv6 hosts (`::`, `::1`) listen on IPv6.
  public func run(drain: Drain? = nil, onListening: @Sendable (Int) -> Void = { _ in }) async throws {
    let transport = HTTP2ServerTransport.Posix(
      address: host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port),
      transportSecurity: transportSecurity,
      config: .defaults { [maxRequestBytes, backlog] config in
        config.rpc.maxRequestPayloadSize = maxRequestBytes
        config.channelDebuggingCallbacks.onBindTCPListener = { channel in
          // Set before the bind, which is when the queue length is passed to listen(2); accept
          // many connections per wake-up so a storm drains quickly.
          channel.setOption(.backlog, value: Int32(clamping: backlog)).flatMap {
            channel.setOption(.maxMessagesPerRead, value: 256)
          }
        }
        // Envoy pings idle xDS connections; allow it rather than closing them.
        config.connection.keepalive.clientBehavior.allowWithoutCalls = true
        config.connection.keepalive.clientBehavior.minPingIntervalWithoutCalls = .seconds(10)
      })
    let server = GRPCServer(transport: transport, services: [service])

    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.serve() }
      let address = try await transport.listeningAddress
      onListening(address.ipv4?.port ?? address.ipv6?.port ?? port)
      if let drain {
        group.addTask {
          await drain.signal()
          guard !Task.isCancelled else { return }
          server.beginGracefulShutdown()
          try? await Task.sleep(for: drain.time)
        }
      }
      // The server ends (cancelled, or every stream closed after the drain began), or the drain
      // time is up: whichever comes first ends the rest.
      try await group.next()
      group.cancelAll()
    }
  }

  private var transportSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
    guard let tls else { return .plaintext }
    let chain: [TLSConfig.CertificateSource] = [.file(path: tls.certificatePath, format: .pem)]
    let key = TLSConfig.PrivateKeySource.file(path: tls.keyPath, format: .pem)
    guard let clientCA = tls.clientCAPath else { return .tls(certificateChain: chain, privateKey: key) }
    return .mTLS(certificateChain: chain, privateKey: key) { config in
      config.trustRoots = .certificates([.file(path: clientCA, format: .pem)])
      // Proxies are identified by certificate, not by host name.
      config.clientCertificateVerification = .noHostnameVerification
    }
  }
}
