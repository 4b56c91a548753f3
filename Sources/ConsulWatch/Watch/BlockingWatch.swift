public import ConsulCatalog
public import Logging

/// Follows one Consul endpoint with blocking queries until cancelled.
///
/// Delivers a body only when it differs from the last one delivered (a blocking query may return
/// on timeout or an idempotent write). On errors it keeps quiet towards the consumer (the last
/// good state stands), backs off with jitter and tries again; a 404 delivers `nil` (for a
/// single config entry: it does not exist).
public struct BlockingWatch: Sendable {
  public var client: ConsulClient
  public var path: String
  public var query: [String: String] = [:]
  public var wait: Duration = .seconds(300)
  public var backoff = Backoff()
  public var logger: Logger

  public init(client: ConsulClient, path: String, query: [String: String] = [:], logger: Logger) {
    self.client = client
    self.path = path
    self.query = query
    self.logger = logger
  }

  public func run(
    deliver: (JSONValue?) async -> Void, failed: (ConsulError) async -> Void = { _ in }
  ) async {
    var index = BlockingIndex()
    var backoff = backoff
    var last: JSONValue??
    while !Task.isCancelled {
      do {
        let reply = try await client.get(path, query: query, index: index.value, wait: wait)
        backoff.succeeded()
        if !index.received(reply.index) {
          logger.info("Consul index went backwards; watching again from 0", metadata: ["path": "\(path)"])
        }
        if last != .some(reply.body) {
          last = .some(reply.body)
          await deliver(reply.body)
        }
      } catch let error where error.code == .notFound {
        backoff.succeeded()
        index.reset()
        if last != .some(nil) {
          last = .some(nil)
          await deliver(nil)
        }
        // A missing object has no index to block on; poll gently.
        try? await Task.sleep(for: .seconds(5))
      } catch {
        if Task.isCancelled { return }
        if error.code == .forbidden || error.code == .badRequest { index.reset() }
        await failed(error)
        let delay = backoff.next(random: Double.random(in: 0..<1))
        let level: Logger.Level = error.code == .forbidden ? .error : .warning
        logger.log(
          level: level, "Consul request failed; keeping the last good state",
          metadata: ["path": "\(path)", "error": "\(error)", "retry_in": "\(delay)"])
        try? await Task.sleep(for: error.code == .forbidden ? max(delay, .seconds(15)) : delay)
      }
    }
  }
}
