import ADSProtocol
import ADSServer
import EnvoyAPI
import GRPCCore
import GRPCNIOTransportHTTP2
import ResourceCache
import SwiftProtobuf
import TestSupport
import Testing

/// The server's answers to malformed or oversized streams, over real gRPC on HTTP/2.
@Suite("ADS protocol errors and limits")
struct ADSProtocolErrorTests {
  typealias ADS = Envoy_Service_Discovery_V3_AggregatedDiscoveryService

  @Test("a first request without node.id is refused with INVALID_ARGUMENT")
  func missingNode() async throws {
    try await XDSHarness.with { xds in
      let request = Envoy_Service_Discovery_V3_DiscoveryRequest.with {
        $0.typeURL = ResourceType.cluster.typeURL
      }
      let error = try await expectRPCError { try await sotwFirstResponse(xds.port, request) }
      #expect(error.code == .invalidArgument)
      #expect(error.message.contains("node.id"))
    }
  }

  @Test("unknown and empty type URLs are refused with a clear message", arguments: ["", "type.googleapis.com/envoy.config.route.v3.VirtualHost"])
  func unknownType(typeURL: String) async throws {
    try await XDSHarness.with { xds in
      let request = Envoy_Service_Discovery_V3_DiscoveryRequest.with {
        $0.node.id = "n"
        $0.typeURL = typeURL
      }
      let error = try await expectRPCError { try await sotwFirstResponse(xds.port, request) }
      #expect(error.code == .invalidArgument)
      #expect(error.message.contains(typeURL.isEmpty ? "type_url is required" : "unsupported type_url"))
    }
  }

  @Test("a delta first request larger than gRPC's usual 4 MiB is accepted and answered")
  func largeInitialVersions() async throws {
    try await XDSHarness.with { xds in
      let cluster = EncodedResource(type: .cluster, name: "c", bytes: .init([1]))
      xds.cache.set(try Snapshot([cluster]), for: "big")
      var request = Envoy_Service_Discovery_V3_DeltaDiscoveryRequest()
      request.node.id = "big"
      request.typeURL = ResourceType.cluster.typeURL
      // Built aside and assigned once: mutating a map field entry by entry copies it each time.
      var held: [String: String] = [:]
      for index in 0..<100_000 { held["cluster-\(index)"] = "0123456789abcdef0123456789abcdef" }
      request.initialResourceVersions = held
      let encoded: [UInt8] = try request.serializedBytes()
      #expect(encoded.count > 4 * 1024 * 1024)
      let response = try await deltaFirstResponse(xds.port, request)
      #expect(response.resources.map(\.name) == ["c"])
      #expect(response.removedResources.count == 100_000, "every unknown name the client held is removed")
    }
  }

  // MARK: - Helpers

  func expectRPCError(_ body: () async throws -> some Any) async throws -> RPCError {
    do {
      _ = try await body()
    } catch let error as RPCError {
      return error
    }
    throw EnvoyError("expected an RPCError")
  }

  func sotwFirstResponse(_ port: Int, _ request: Envoy_Service_Discovery_V3_DiscoveryRequest)
    async throws -> Envoy_Service_Discovery_V3_DiscoveryResponse
  {
    try await withClient(port) { ads in
      try await ads.streamAggregatedResources(request: Self.openStream(request)) { response in
        try await Self.first(response.messages)
      }
    }
  }

  func deltaFirstResponse(_ port: Int, _ request: Envoy_Service_Discovery_V3_DeltaDiscoveryRequest)
    async throws -> Envoy_Service_Discovery_V3_DeltaDiscoveryResponse
  {
    try await withClient(port) { ads in
      try await ads.deltaAggregatedResources(request: Self.openStream(request)) { response in
        try await Self.first(response.messages)
      }
    }
  }

  /// Sends one request and keeps the stream open until the test reads its answer.
  static func openStream<M: Sendable>(_ message: M) -> StreamingClientRequest<M> {
    StreamingClientRequest { writer in
      try await writer.write(message)
      try await Task.sleep(for: .seconds(30))
    }
  }

  static func first<M>(_ messages: RPCAsyncSequence<M, any Error>) async throws -> M {
    for try await message in messages { return message }
    throw EnvoyError("the stream ended without a response")
  }

  func withClient<T: Sendable>(
    _ port: Int, _ body: (ADS.Client<HTTP2ClientTransport.Posix>) async throws -> T
  ) async throws -> T {
    let transport = try HTTP2ClientTransport.Posix(
      target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
    return try await withGRPCClient(transport: transport) { client in
      try await body(ADS.Client(wrapping: client))
    }
  }
}
