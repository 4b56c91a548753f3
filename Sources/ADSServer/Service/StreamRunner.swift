public import ADSProtocol
import EnvoyAPI
import GRPCCore
import Logging
import ResourceCache

/// Drives one ADS stream: merges the client's requests and the node's snapshot feed into one
/// sequence of inputs for the state machine, and writes what it plans.
///
/// Nothing a client does can grow the stream's memory: inputs pass through a ``StreamInbox``
/// that holds one request, so a client that sends faster than the stream proceeds (for example
/// while it does not read what it was sent) is held back by HTTP/2 flow control, and snapshots
/// go straight from the cache into the inbox, where a newer one replaces an older one.
struct StreamRunner {
  let variant: XDSVariant
  let cache: SnapshotCache
  let status: XDSStatusBoard
  var logger: Logger
  var authorization: StreamAuthorization?
  var credentials = StreamCredentials()
  var admission: StreamAdmission
  /// Whether a node id is a proxy of the catalog (nil: no catalog yet).
  var membership: @Sendable (String) -> Bool?

  private typealias Inbox = StreamInbox<(Envoy_Config_Core_V3_Node?, ADSProtocol.ClientRequest), Snapshot>

  func run<Request: Sendable>(
    requests: RPCAsyncSequence<Request, any Error>,
    decode: @escaping @Sendable (Request) throws(RPCError) -> (Envoy_Config_Core_V3_Node?, ADSProtocol.ClientRequest),
    write: (PlannedResponse) async throws -> Void
  ) async throws {
    let inputs = Inbox()
    defer { inputs.finish() }
    var stopWatching: (@Sendable () -> Void)?
    defer { stopWatching?() }
    var nodeID: String?
    var ticket: StreamAdmission.Ticket?
    defer {
      if let nodeID, let ticket {
        status.disconnected(nodeID, variant: variant)
        admission.release(nodeID, ticket)
      }
    }

    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        do {
          for try await message in requests {
            await inputs.send(try decode(message))
          }
          inputs.close()
        } catch {
          inputs.fail(error)
        }
      }
      defer { group.cancelAll() }

      var machine = ADSStreamState(variant: variant)
      var logger = logger
      loop: while let input = await inputs.next() {
        let step: StreamStep
        switch input {
        case .request(let (node, request)):
          if nodeID == nil {
            guard let node, !node.id.isEmpty else {
              throw RPCError(
                code: .invalidArgument, message: "the first request of a stream must carry node.id")
            }
            if let authorization,
              let reason = await authorization.authorizer.denial(nodeID: node.id, credentials: credentials)
            {
              logger.warning("xDS stream refused", metadata: ["node": "\(node.id)", "reason": "\(reason)"])
              status.refused(node.id, .unauthorized, reason)
              throw RPCError(code: .permissionDenied, message: reason)
            }
            switch admission.admit(node.id) {
            case .failure(let refused):
              logger.warning("xDS stream refused", metadata: ["node": "\(node.id)", "reason": "\(refused.message)"])
              status.refused(node.id, refused.reason, refused.message)
              throw RPCError(code: .resourceExhausted, message: refused.message)
            case .success(let admitted):
              ticket = admitted
              group.addTask { [status, logger] in
                for await reason in admitted.shed {
                  logger.info("xDS stream ended to rebalance", metadata: ["reason": "\(reason)"])
                  status.refused(node.id, .rebalance, reason)
                  inputs.fail(RPCError(code: .resourceExhausted, message: reason))
                }
              }
            }
            nodeID = node.id
            logger[metadataKey: "node"] = "\(node.id)"
            status.connected(node.id, variant: variant)
            logger.info("xDS stream opened", metadata: ["envoy": "\(node.userAgentDescription)"])
            stopWatching = cache.watch(node.id) { inputs.offer($0) }
            if membership(node.id) != true {
              // Not a proxy of the catalog (yet): served if it registers within the grace, else told.
              group.addTask { [membership, status, logger, grace = admission.limits.unknownNodeGrace] in
                try? await Task.sleep(for: grace)
                while !Task.isCancelled {
                  switch membership(node.id) {
                  case true?: return
                  case false?:
                    let reason = Self.unknownNodeMessage(node.id, after: grace)
                    logger.warning("xDS stream ended: unknown node id", metadata: ["reason": "\(reason)"])
                    status.refused(node.id, .unknownNode, reason)
                    inputs.fail(RPCError(code: .notFound, message: reason))
                    return
                  case nil:
                    try? await Task.sleep(for: .seconds(1))  // no catalog yet: nothing to judge by
                  }
                }
              }
            }
            if let authorization {
              // A token revoked (or stripped of service:write) ends the stream.
              group.addTask { [credentials, status, logger] in
                while !Task.isCancelled {
                  try? await Task.sleep(for: authorization.recheckInterval)
                  guard !Task.isCancelled else { return }
                  if let reason = await authorization.authorizer.denial(nodeID: node.id, credentials: credentials) {
                    logger.warning("xDS stream ended: no longer authorized", metadata: ["reason": "\(reason)"])
                    status.refused(node.id, .unauthorized, reason)
                    inputs.fail(RPCError(code: .permissionDenied, message: reason))
                    return
                  }
                }
              }
            }
          }
          step = machine.receive(request)
        case .update(let snapshot):
          step = machine.receive(snapshot)
        case .closed:
          logger.info("xDS stream closed by the client")
          break loop
        case .failed(let error):
          throw error
        }
        try await apply(step, node: nodeID!, logger: logger, write: write)
      }
    }
  }

  static func unknownNodeMessage(_ nodeID: String, after grace: Duration) -> String {
    "node id \(nodeID.prefix(256)) is not a proxy in the catalog after \(grace.components.seconds) s: it must be the service ID "
      + "of a registration of kind connect-proxy (a sidecar), terminating-gateway or mesh-gateway"
  }

  private func apply(
    _ step: StreamStep, node: String, logger: Logger, write: (PlannedResponse) async throws -> Void
  ) async throws {
    for event in step.events {
      status.record(node, event)
      switch event {
      case .rejected(let type, let nonce, let version, let message):
        logger.warning(
          "xDS response rejected by the proxy; keeping its last good configuration",
          metadata: [
            "type": "\(type)", "version": "\(version)", "nonce": "\(nonce)", "error": "\(message)",
          ])
      case .acknowledged(let type, _, let version):
        logger.debug("xDS response acknowledged", metadata: ["type": "\(type)", "version": "\(version)"])
      case .staleNonceIgnored(let type, let nonce):
        logger.trace("stale nonce ignored", metadata: ["type": "\(type)", "nonce": "\(nonce)"])
      }
    }
    for response in step.responses {
      try await write(response)
      status.sent(node, response)
      logger.debug(
        "xDS response sent",
        metadata: [
          "type": "\(response.type)", "version": "\(response.version)",
          "nonce": "\(response.nonce)", "resources": "\(response.resources.count)",
          "removed": "\(response.removed.count)",
        ])
    }
  }
}

extension Envoy_Config_Core_V3_Node {
  var userAgentDescription: String {
    switch userAgentVersionType {
    case .userAgentBuildVersion(let build):
      let v = build.version
      return "\(userAgentName) \(v.majorNumber).\(v.minorNumber).\(v.patch)"
    case .userAgentVersion(let version): return "\(userAgentName) \(version)"
    case nil: return userAgentName
    }
  }
}
