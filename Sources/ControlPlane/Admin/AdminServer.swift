public import Hummingbird
import Logging
import NIOCore

/// The admin API's HTTP server, on Hummingbird: every route answers from ``AdminRoutes``.
/// GET only; it reads, it never changes the server.
struct AdminServer: Sendable {
  let host: String
  let port: Int
  let routes: AdminRoutes
  let logger: Logger

  /// The server as a service of `serve`'s group: it stops accepting on graceful shutdown.
  func application(onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
    // Hummingbird reports a cancelled server's closing channel as an error; a failed bind throws.
    var logger = logger
    logger.logLevel = .critical
    return Application(
      router: Self.router(routes), configuration: .init(address: .hostname(host, port: port), serverName: nil),
      onServerRunning: { [port] channel in onListening(channel.localAddress?.port ?? port) }, logger: logger)
  }

  /// The routes, with no socket: HummingbirdTesting drives them in-process.
  static func router(_ routes: AdminRoutes) -> Router<BasicRequestContext> {
    let router = Router()
    router.get("**") { request, _ in
      let answer = routes.respond(path: request.uri.path)
      return Response(
        status: .init(code: answer.status), headers: [.contentType: answer.contentType],
        body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }
    return router
  }
}
