import EnvoyAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf
import Synchronization

typealias ADS = Envoy_Service_Discovery_V3_AggregatedDiscoveryService
typealias DiscoveryRequest = Envoy_Service_Discovery_V3_DiscoveryRequest
typealias DiscoveryResponse = Envoy_Service_Discovery_V3_DiscoveryResponse
typealias DeltaRequest = Envoy_Service_Discovery_V3_DeltaDiscoveryRequest
typealias DeltaResponse = Envoy_Service_Discovery_V3_DeltaDiscoveryResponse

/// One simulated Envoy: its own HTTP/2 connection (its own GRPCClient), one ADS stream, Envoy's
/// subscription order, an ACK for every response, and a timestamp for every response. Holds only
/// the names it subscribes to, never the resources.
struct SimulatedEnvoy: Sendable {
  var node: NodeIdentity
  var delta: Bool
  var index: Int
  var fleet: Fleet
  var sink: RecordingSink?

  var probe: ClientProbe { fleet.probes[index] }

  /// Runs until the task is cancelled or the stream ends; never throws (errors are recorded).
  func run(server: HostPort) async {
    probe.stats.withLock { $0.startedAt = monotonicNanos() }
    do {
      let config = HTTP2ClientTransport.Posix.Config.defaults { config in
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 1.6, jitter: 0.2)
      }
      let transport =
        server.host.allSatisfy({ $0.isNumber || $0 == "." })
        ? try HTTP2ClientTransport.Posix(
          target: .ipv4(address: server.host, port: server.port), transportSecurity: .plaintext, config: config)
        : try HTTP2ClientTransport.Posix(
          target: .dns(host: server.host, port: server.port), transportSecurity: .plaintext, config: config)
      try await withGRPCClient(transport: transport) { client in
        if delta { try await runDelta(client) } else { try await runStateOfTheWorld(client) }
      }
      probe.stats.withLock { $0.ended = true }
    } catch {
      if !Task.isCancelled {
        let failedBefore = probe.stats.withLock { stats in
          defer { stats.error = "\(error)" }
          return stats.error != nil
        }
        if !failedBefore { fleet.failed.add(1, ordering: .relaxed) }
      }
    }
  }

  private var options: CallOptions {
    var options = CallOptions.defaults
    options.maxResponseMessageBytes = 512 * 1024 * 1024
    options.waitForReady = true
    return options
  }

  /// Bookkeeping for one response; returns whether the client just became ready.
  private func note(_ type: XDSType, size: Int, bytes: [UInt8]?, at time: UInt64) {
    let mark = fleet.mark.load(ordering: .relaxed)
    probe.stats.withLock { stats in
      if stats.firstResponseAt == 0 { stats.firstResponseAt = time }
      stats.lastResponseAt = time
      stats.responses += 1
      stats.bytes += size
      stats.received |= type.bit
      if mark != 0, time >= mark {
        if stats.afterMark.first == 0 {
          stats.afterMark.first = time
          stats.afterMark.firstType = type
        }
        stats.afterMark.last = time
        stats.afterMark.responses += 1
        stats.afterMark.types |= type.bit
      }
    }
    if let bytes, let sink {
      sink.lists[index].entries.withLock { $0.append(RecordingSink.Entry(phase: mark != 0 && time >= mark ? 1 : 0, type: type, bytes: bytes)) }
    }
    fleet.responses.add(1, ordering: .relaxed)
    fleet.bytes.add(size, ordering: .relaxed)
    fleet.lastResponse.store(time, ordering: .relaxed)
  }

  private func noteReady(_ subscriptions: Subscriptions) {
    let now = monotonicNanos()
    let becameReady = probe.stats.withLock { stats in
      stats.subscribed = subscriptions.requested
      guard subscriptions.isReady, stats.readyAt == 0 else { return false }
      stats.readyAt = now
      return true
    }
    if becameReady { fleet.ready.add(1, ordering: .relaxed) }
  }

  private static func references(_ type: XDSType, _ any: Google_Protobuf_Any) -> (String, References)? {
    switch type {
    case .cluster: ResourceReferences.cluster(any)
    case .listener: ResourceReferences.listener(any)
    default: nil
    }
  }

  /// References of clusters or listeners, decoding only those whose bytes were not in the
  /// previous response of that type (a change usually touches one listener of many); `cache` is
  /// replaced by what this response holds, so it never outgrows the client's configuration.
  private static func references(
    _ type: XDSType, _ resources: [Google_Protobuf_Any], cache: inout [Int: (String, References)]
  ) -> [(String, References)] {
    var next: [Int: (String, References)] = [:]
    var result: [(String, References)] = []
    result.reserveCapacity(resources.count)
    for any in resources {
      var hasher = Hasher()
      any.value.withUnsafeBytes { hasher.combine(bytes: $0) }  // every byte (SipHash)
      let key = hasher.finalize()
      guard let entry = cache[key] ?? references(type, any) else { continue }
      next[key] = entry
      result.append(entry)
    }
    cache = next
    return result
  }

  /// A stream's first request: the node, and the first type subscribed to.
  private func opening<Request: OpeningRequest>(_ type: XDSType) -> Request {
    var request = Request()
    request.node.id = node.id
    request.node.cluster = node.cluster
    request.node.userAgentName = "lambda-xds-loadgen"
    request.typeURL = type.typeURL
    return request
  }

  // MARK: State of the world

  private func runStateOfTheWorld(_ client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
    let (requests, feed) = AsyncStream.makeStream(of: DiscoveryRequest.self)
    var subscriptions = Subscriptions()
    feed.yield(opening(subscriptions.start().type))
    let initial = subscriptions
    try await client.bidirectionalStreaming(
      request: StreamingClientRequest(of: DiscoveryRequest.self) { writer in
        for await request in requests { try await writer.write(request) }
      },
      descriptor: ADS.Method.StreamAggregatedResources.descriptor,
      serializer: PlainSerializer<DiscoveryRequest>(),
      deserializer: CapturingDeserializer<DiscoveryResponse>(keepBytes: sink != nil),
      options: options
    ) { response in
      var subscriptions = initial
      var decoded: [[Int: (String, References)]] = [[:], [:]]
      defer { feed.finish() }
      for try await captured in response.messages {
        let time = monotonicNanos()
        let message = captured.message
        guard let type = XDSType(typeURL: message.typeURL) else { continue }
        note(type, size: captured.size, bytes: captured.bytes, at: time)
        if type == .cluster || type == .listener {
          subscriptions.replace(
            type, with: Self.references(type, message.resources, cache: &decoded[type == .cluster ? 0 : 1]))
        }
        // ACK with the subscription as it stands.
        feed.yield(
          .with {
            $0.typeURL = type.typeURL
            $0.versionInfo = message.versionInfo
            $0.responseNonce = message.nonce
            $0.resourceNames = subscriptions.named[type].map { $0.sorted() } ?? []
          })
        for change in subscriptions.answered(type, version: message.versionInfo, nonce: message.nonce) {
          feed.yield(
            .with {
              $0.typeURL = change.type.typeURL
              $0.resourceNames = change.names
              $0.versionInfo = subscriptions.versions[change.type] ?? ""
              $0.responseNonce = subscriptions.nonces[change.type] ?? ""
            })
        }
        noteReady(subscriptions)
      }
    }
  }

  // MARK: Delta

  private func runDelta(_ client: GRPCClient<HTTP2ClientTransport.Posix>) async throws {
    let (requests, feed) = AsyncStream.makeStream(of: DeltaRequest.self)
    var subscriptions = Subscriptions()
    feed.yield(opening(subscriptions.start().type))
    let initial = subscriptions
    try await client.bidirectionalStreaming(
      request: StreamingClientRequest(of: DeltaRequest.self) { writer in
        for await request in requests { try await writer.write(request) }
      },
      descriptor: ADS.Method.DeltaAggregatedResources.descriptor,
      serializer: PlainSerializer<DeltaRequest>(),
      deserializer: CapturingDeserializer<DeltaResponse>(keepBytes: sink != nil),
      options: options
    ) { response in
      var subscriptions = initial
      var decoded: [[Int: (String, References)]] = [[:], [:]]
      defer { feed.finish() }
      for try await captured in response.messages {
        let time = monotonicNanos()
        let message = captured.message
        guard let type = XDSType(typeURL: message.typeURL) else { continue }
        note(type, size: captured.size, bytes: captured.bytes, at: time)
        if type == .cluster || type == .listener {
          subscriptions.update(
            type, with: Self.references(type, message.resources.map(\.resource), cache: &decoded[type == .cluster ? 0 : 1]),
            removed: message.removedResources)
        }
        feed.yield(
          .with {
            $0.typeURL = type.typeURL
            $0.responseNonce = message.nonce
          })
        for change in subscriptions.answered(type, version: message.systemVersionInfo, nonce: message.nonce) {
          feed.yield(
            .with {
              $0.typeURL = change.type.typeURL
              $0.resourceNamesSubscribe = change.added
              $0.resourceNamesUnsubscribe = change.removed
            })
        }
        noteReady(subscriptions)
      }
    }
  }
}

/// What the opening request of either ADS variant sets.
protocol OpeningRequest {
  init()
  var node: Envoy_Config_Core_V3_Node { get set }
  var typeURL: String { get set }
}

extension DiscoveryRequest: OpeningRequest {}
extension DeltaRequest: OpeningRequest {}
