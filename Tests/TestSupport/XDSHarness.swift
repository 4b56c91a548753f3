public import ADSProtocol
public import ADSServer
import Foundation
import Logging
public import ResourceCache

/// An in-process xDS server on 127.0.0.1 and an ephemeral port, for the length of a test.
public struct XDSHarness: Sendable {
  public let cache: SnapshotCache
  public let status: XDSStatusBoard
  public let port: Int
  /// The server's admission (limits, fair share, shedding).
  public let admission: StreamAdmission

  /// Runs `body` with a server that stops when it returns. Port 0 picks a free port.
  /// - Parameters:
  ///   - limits: the server's stream limits.
  ///   - membership: which node ids are proxies of the catalog (default: all).
  public static func with<T: Sendable>(
    port: Int = 0, limits: StreamLimits = StreamLimits(), membership: (@Sendable (String) -> Bool?)? = nil,
    _ body: @Sendable (XDSHarness) async throws -> T
  ) async throws -> T {
    let cache = SnapshotCache()
    let status = XDSStatusBoard(historyLimit: 1000)
    var logger = Logger(label: "lambda-xds.test")
    logger.logLevel =
      ProcessInfo.processInfo.environment["LAMBDA_XDS_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    let service = AggregatedDiscoveryService(
      cache: cache, status: status, logger: logger, limits: limits, membership: membership)
    let server = XDSServer(host: "127.0.0.1", port: port, service: service)
    return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
      let (ports, portFeed) = AsyncStream.makeStream(of: Int.self)
      group.addTask {
        try await server.run { port in
          portFeed.yield(port)
          portFeed.finish()
        }
      }
      defer { group.cancelAll() }
      var iterator = ports.makeAsyncIterator()
      guard let port = await iterator.next() else { throw EnvoyError("xDS server did not start") }
      return try await body(XDSHarness(cache: cache, status: status, port: port, admission: service.admission))
    }
  }

  /// A bootstrap for an Envoy that talks to this server.
  public func bootstrap(nodeID: String, variant: XDSVariant) throws -> String {
    try Self.bootstrap(nodeID: nodeID, variant: variant, port: port)
  }

  public static func bootstrap(nodeID: String, variant: XDSVariant, port: Int) throws -> String {
    var bootstrap = EnvoyBootstrap(
      nodeID: nodeID, nodeCluster: nodeID, xdsHost: "127.0.0.1", xdsPort: port)
    bootstrap.adminPort = 0
    bootstrap.variant = variant
    return try bootstrap.json()
  }
}
