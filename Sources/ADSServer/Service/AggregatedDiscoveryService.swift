public import ADSProtocol
public import EnvoyAPI
public import GRPCCore
import GRPCNIOTransportHTTP2
import X509
public import Logging
public import ResourceCache

/// The gRPC face of ADS: state of the world and delta, both fed from the snapshot cache.
///
/// Each stream is a thin loop around ``ADSStreamState``; everything the protocol decides happens
/// in that pure state machine.
public struct AggregatedDiscoveryService: Envoy_Service_Discovery_V3_AggregatedDiscoveryService
    .ServiceProtocol
{
  let cache: SnapshotCache
  let status: XDSStatusBoard
  let logger: Logger
  /// nil: every stream is served (no token checks).
  let authorization: StreamAuthorization?
  public let admission: StreamAdmission
  let membership: @Sendable (String) -> Bool?

  /// - Parameter membership: whether a node id is a proxy of the catalog (nil: no catalog yet);
  ///   a stream for one that is not ends after the limits' `unknownNodeGrace`. By default every
  ///   node id is a member.
  public init(
    cache: SnapshotCache, status: XDSStatusBoard, logger: Logger, authorization: StreamAuthorization? = nil,
    limits: StreamLimits = StreamLimits(), membership: (@Sendable (String) -> Bool?)? = nil
  ) {
    self.cache = cache
    self.status = status
    self.logger = logger
    self.authorization = authorization
    admission = StreamAdmission(limits)
    self.membership = membership ?? { _ in true }
  }


  public func streamAggregatedResources(
    request: StreamingServerRequest<Envoy_Service_Discovery_V3_DiscoveryRequest>,
    context: ServerContext
  ) async throws -> StreamingServerResponse<Envoy_Service_Discovery_V3_DiscoveryResponse> {
    let runner = runner(.stateOfTheWorld, context, request.metadata)
    return StreamingServerResponse { writer in
      try await runner.run(
        requests: request.messages,
        decode: { message throws(RPCError) in (message.hasNode ? message.node : nil, try Self.request(message)) },
        write: { try await writer.write(DiscoveryResponse($0)) })
      return [:]
    }
  }

  public func deltaAggregatedResources(
    request: StreamingServerRequest<Envoy_Service_Discovery_V3_DeltaDiscoveryRequest>,
    context: ServerContext
  ) async throws -> StreamingServerResponse<Envoy_Service_Discovery_V3_DeltaDiscoveryResponse> {
    let runner = runner(.delta, context, request.metadata)
    return StreamingServerResponse { writer in
      try await runner.run(
        requests: request.messages,
        decode: { message throws(RPCError) in (message.hasNode ? message.node : nil, try Self.request(message)) },
        write: { try await writer.write(DeltaDiscoveryResponse($0)) })
      return [:]
    }
  }

  /// A request for the protocol; one it cannot take ends the stream with INVALID_ARGUMENT.
  private static func request(_ message: DiscoveryRequest) throws(RPCError) -> ADSProtocol.ClientRequest {
    do throws(ADSRequestError) { return try ADSProtocol.ClientRequest(message) } catch {
      throw RPCError(code: .invalidArgument, message: error.message)
    }
  }

  private static func request(_ message: DeltaDiscoveryRequest) throws(RPCError) -> ADSProtocol.ClientRequest {
    do throws(ADSRequestError) { return try ADSProtocol.ClientRequest(message) } catch {
      throw RPCError(code: .invalidArgument, message: error.message)
    }
  }

  private func runner(_ variant: XDSVariant, _ context: ServerContext, _ metadata: Metadata) -> StreamRunner {
    var logger = logger
    logger[metadataKey: "peer"] = "\(context.remotePeer)"
    logger[metadataKey: "xds"] = "\(variant)"
    var credentials = StreamCredentials(token: metadata[stringValues: StreamAuthorization.tokenKey].first { _ in true })
    if let transport = context.transportSpecific as? HTTP2ServerTransport.Posix.Context,
      let certificate = transport.peerCertificate
    {
      credentials.hasClientCertificate = true
      var uris: [String] = []
      if let names = try? certificate.extensions.subjectAlternativeNames {
        for name in names {
          if case .uniformResourceIdentifier(let uri) = name { uris.append(uri) }
        }
      }
      credentials.certificateURIs = uris
    }
    return StreamRunner(
      variant: variant, cache: cache, status: status, logger: logger, authorization: authorization,
      credentials: credentials, admission: admission, membership: membership)
  }
}
