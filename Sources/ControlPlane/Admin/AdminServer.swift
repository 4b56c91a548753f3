import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server for the admin routes (GET only), on SwiftNIO.
struct AdminServer: Sendable {
  let host: String
  let port: Int
  let routes: AdminRoutes

  /// Serves until cancelled; `onListening` gets the bound port.
  func run(onListening: @Sendable (Int) -> Void) async throws {
    let routes = routes
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline().flatMap {
          channel.pipeline.addHandler(AdminHandler(routes: routes))
        }
      }
      .bind(host: host, port: port).get()
    onListening(channel.localAddress?.port ?? port)
    try await withTaskCancellationHandler {
      try await channel.closeFuture.get()
    } onCancel: {
      channel.close(promise: nil)
    }
  }
}

private final class AdminHandler: ChannelInboundHandler, @unchecked Sendable {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  let routes: AdminRoutes
  private var path: String?
  private var method: HTTPMethod = .GET

  init(routes: AdminRoutes) { self.routes = routes }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      path = head.uri
      method = head.method
    case .body:
      break
    case .end:
      let response = method == .GET
        ? routes.respond(path: path ?? "/")
        : AdminRoutes.Response(status: 405, body: #"{"error":"read-only: GET only"}"#)
      var headers = HTTPHeaders()
      headers.add(name: "content-type", value: response.contentType)
      headers.add(name: "content-length", value: "\(response.body.utf8.count)")
      context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers))), promise: nil)
      context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: response.body)))), promise: nil)
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
  }
}
