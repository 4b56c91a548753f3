import EnvoyAPI
public import GRPCCore
import GRPCNIOTransportHTTP2
import ResourceCache

/// One xDS stream's fate, for tests of admission: it gets a response, or ends with an error.
public enum StreamProbe {
  public enum Outcome: Sendable, Equatable {
    case served
    case refused(RPCError.Code, String)
  }

  /// Opens a stream for `node` (clusters), returns its first outcome (bounded by `timeout`);
  /// with `holdOpen`, a served stream stays open until the task is cancelled or the server ends it
  /// (then `onOutcome` is told a second time).
  public static func open(
    port: Int, node: String, holdOpen: Bool = false, onOutcome: @escaping @Sendable (Outcome) -> Void = { _ in }
  ) async -> Outcome {
    do {
      return try await UnrulyClients.withClient(port) { ads in
        try await ads.streamAggregatedResources(
          request: StreamingClientRequest { writer in
            try await writer.write(UnrulyClients.request(node, .cluster))
            try await Task.sleep(for: .seconds(3600))
          },
          onResponse: { response in
            var messages = response.messages.makeAsyncIterator()
            if try await messages.next() != nil {
              onOutcome(.served)
              // Held open: reading on, so an end the server decides (an error) is seen.
              if holdOpen { while try await messages.next() != nil {} }
              return Outcome.served
            }
            return Outcome.refused(.unknown, "the stream ended without a response")
          })
      }
    } catch let error as RPCError {
      onOutcome(.refused(error.code, error.message))
      return .refused(error.code, error.message)
    } catch {
      return .refused(.unknown, "\(error)")
    }
  }
}
