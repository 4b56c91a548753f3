public import EnvoyAPI
public import GRPCCore
public import Logging
public import ResourceCache

/// The gRPC face of ADS: state of the world and delta, both fed from the snapshot cache.
///
/// Each stream is a thin loop around ``ADSStreamState``; everything the protocol decides happens
/// in that pure state machine.
public struct AggregatedDiscoveryService: Envoy_Service_Discovery_V3_AggregatedDiscoveryService
    .SimpleServiceProtocol
{
  let cache: SnapshotCache
  let status: XDSStatusBoard
  let logger: Logger

  public init(cache: SnapshotCache, status: XDSStatusBoard, logger: Logger) {
    self.cache = cache
    self.status = status
    self.logger = logger
  }

  public func streamAggregatedResources(
    request: RPCAsyncSequence<Envoy_Service_Discovery_V3_DiscoveryRequest, any Error>,
    response: RPCWriter<Envoy_Service_Discovery_V3_DiscoveryResponse>,
    context: ServerContext
  ) async throws {
    try await runner(.stateOfTheWorld, context).run(
      requests: request,
      decode: { message throws(RPCError) in (message.hasNode ? message.node : nil, try .init(message)) },
      write: { try await response.write(DiscoveryResponse($0)) })
  }

  public func deltaAggregatedResources(
    request: RPCAsyncSequence<Envoy_Service_Discovery_V3_DeltaDiscoveryRequest, any Error>,
    response: RPCWriter<Envoy_Service_Discovery_V3_DeltaDiscoveryResponse>,
    context: ServerContext
  ) async throws {
    try await runner(.delta, context).run(
      requests: request,
      decode: { message throws(RPCError) in (message.hasNode ? message.node : nil, try .init(message)) },
      write: { try await response.write(DeltaDiscoveryResponse($0)) })
  }

  private func runner(_ variant: XDSVariant, _ context: ServerContext) -> StreamRunner {
    var logger = logger
    logger[metadataKey: "peer"] = "\(context.remotePeer)"
    logger[metadataKey: "xds"] = "\(variant)"
    return StreamRunner(variant: variant, cache: cache, status: status, logger: logger)
  }
}
