import ArgumentParser
import Dispatch
import EnvoyAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The baseline: an ADS server on the same transport that answers from a recording, with no
/// translation and no bookkeeping.
struct BareCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bare",
    abstract: "Serve ADS from a recording: the least work any xDS server can do.",
    discussion: """
      grpc-swift-2's GRPCServer on HTTP2ServerTransport.Posix (plaintext), like lambda-xds. Each
      stream's node is read from its first request; the first request of each type gets every
      phase-0 response recorded for that node and type, sent as the recorded bytes (a raw
      serializer: nothing is decoded or encoded per stream). ACKs and NACKs are read and ignored.
      SIGUSR1 pushes the phase-1 responses (recorded after a change) to every open stream, for
      the types it subscribed to. Prints "listening on HOST:PORT" once bound.

      Example:
        lambda-xds-loadgen bare --listen 127.0.0.1:18001 --recording ours.rec
      """)

  @Option(help: "HOST:PORT to listen on (port 0: any).") var listen: String
  @Option(help: "A recording from `lambda-xds-loadgen record`.") var recording: String
  @Option(help: "The listen(2) backlog.") var backlog = 4096

  func run() async throws {
    raiseFileLimit()
    let address = try HostPort(listen)
    let recording = try Recording(contentsOf: self.recording)
    let service = BareADS(recording: recording)

    signal(SIGUSR1, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
    source.setEventHandler { service.streams.pushAll() }
    source.resume()

    let transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: address.host, port: address.port), transportSecurity: .plaintext,
      config: .defaults { [backlog] config in
        config.rpc.maxRequestPayloadSize = 64 * 1024 * 1024
        config.channelDebuggingCallbacks.onBindTCPListener = { channel in
          channel.setOption(.backlog, value: Int32(clamping: backlog)).flatMap {
            channel.setOption(.maxMessagesPerRead, value: 256)
          }
        }
        config.connection.keepalive.clientBehavior.allowWithoutCalls = true
        config.connection.keepalive.clientBehavior.minPingIntervalWithoutCalls = .seconds(10)
      })
    let server = GRPCServer(transport: transport, services: [service])
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { try await server.serve() }
      let bound = try await transport.listeningAddress
      print("listening on \(address.host):\(bound.ipv4?.port ?? address.port) nodes=\(recording.nodes.count) delta=\(recording.delta)")
      fflush(nil)
    }
    source.cancel()
  }
}

/// Open streams, so SIGUSR1 can push to each.
final class BareStreams: Sendable {
  private let streams = Mutex<(next: Int, all: [Int: AsyncStream<BareEvent>.Continuation])>((0, [:]))

  func add(_ continuation: AsyncStream<BareEvent>.Continuation) -> Int {
    streams.withLock { state in
      state.next += 1
      state.all[state.next] = continuation
      return state.next
    }
  }

  func remove(_ id: Int) { _ = streams.withLock { $0.all.removeValue(forKey: id) } }

  func pushAll() {
    let all = streams.withLock { Array($0.all.values) }
    for continuation in all { continuation.yield(.push) }
  }
}

enum BareEvent: Sendable {
  /// A request: the node id if it carries one, and its type.
  case request(String?, String)
  case push
}

struct BareADS: RegistrableRPCService {
  let recording: Recording
  let streams = BareStreams()

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    router.registerHandler(
      forMethod: ADS.Method.StreamAggregatedResources.descriptor,
      deserializer: PlainDeserializer<DiscoveryRequest>(), serializer: RawSerializer()
    ) { request, _ in
      StreamingServerResponse { writer in
        try await serve(delta: false, request.messages, writer) { BareEvent.request($0.hasNode ? $0.node.id : nil, $0.typeURL) }
        return [:]
      }
    }
    router.registerHandler(
      forMethod: ADS.Method.DeltaAggregatedResources.descriptor,
      deserializer: PlainDeserializer<DeltaRequest>(), serializer: RawSerializer()
    ) { request, _ in
      StreamingServerResponse { writer in
        try await serve(delta: true, request.messages, writer) { BareEvent.request($0.hasNode ? $0.node.id : nil, $0.typeURL) }
        return [:]
      }
    }
  }

  private func serve<Input: Sendable>(
    delta: Bool, _ requests: RPCAsyncSequence<Input, any Error>, _ writer: RPCWriter<[UInt8]>,
    _ event: @escaping @Sendable (Input) -> BareEvent
  ) async throws {
    guard delta == recording.delta else {
      throw RPCError(
        code: .unimplemented,
        message: "this recording is \(recording.delta ? "delta" : "state of the world") ADS")
    }
    let (events, feed) = AsyncStream.makeStream(of: BareEvent.self)
    let id = streams.add(feed)
    defer { streams.remove(id) }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        defer { feed.finish() }
        for try await request in requests { feed.yield(event(request)) }
      }
      var node: String?
      var subscribed: UInt8 = 0
      for await event in events {
        switch event {
        case .request(let id, let typeURL):
          if node == nil { node = id }
          guard let node, let type = XDSType(typeURL: typeURL), subscribed & type.bit == 0 else { continue }
          subscribed |= type.bit
          for bytes in recording.responses(node, phase: 0, type: type) { try await writer.write(bytes) }
        case .push:
          guard let node else { continue }
          for type in XDSType.allCases where subscribed & type.bit != 0 {
            for bytes in recording.responses(node, phase: 1, type: type) { try await writer.write(bytes) }
          }
        }
      }
      try await group.waitForAll()
    }
  }
}
