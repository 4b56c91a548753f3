import GRPCCore
import GRPCNIOTransportHTTP2

/// The xDS endpoint: ADS over gRPC on HTTP/2.
public struct XDSServer: Sendable {
  public var host: String
  public var port: Int
  /// Envoy's first delta request lists every resource it holds; gRPC's usual 4 MiB is too small.
  public var maxRequestBytes: Int

  let service: AggregatedDiscoveryService

  public init(
    host: String, port: Int, service: AggregatedDiscoveryService,
    maxRequestBytes: Int = 64 * 1024 * 1024
  ) {
    self.host = host
    self.port = port
    self.service = service
    self.maxRequestBytes = maxRequestBytes
  }

  /// Serves until the task is cancelled. `onListening` receives the bound port (useful with 0).
  public func run(onListening: @Sendable (Int) -> Void = { _ in }) async throws {
    let transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: host, port: port),
      transportSecurity: .plaintext,
      config: .defaults { [maxRequestBytes] config in
        config.rpc.maxRequestPayloadSize = maxRequestBytes
        // Envoy pings idle xDS connections; allow it rather than closing them.
        config.connection.keepalive.clientBehavior.allowWithoutCalls = true
        config.connection.keepalive.clientBehavior.minPingIntervalWithoutCalls = .seconds(10)
      })
    let server = GRPCServer(transport: transport, services: [service])
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      let address = try await transport.listeningAddress
      onListening(address.ipv4?.port ?? address.ipv6?.port ?? port)
    }
  }
}
