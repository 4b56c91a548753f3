public import ConsulCatalog
public import Logging

/// Follows one Consul endpoint with blocking queries until cancelled.
///
/// Delivers a body only when it differs from the last one delivered (a blocking query may return
/// on timeout or an idempotent write). On errors it keeps quiet towards the consumer (the last
/// good state stands). Whether Consul is down is the client's ``ConsulHealth``'s call, shared by
/// every watch: a watch waits there instead of on a backoff of its own, and when Consul answers
/// again (a new generation) it abandons its request and reads once without blocking. Its own
/// capped backoff is only for errors that concern this endpoint alone (403, 400, an oversized
/// answer, a 5xx while Consul is otherwise fine). A 404 delivers `nil` (for a single config
/// entry: it does not exist).
public struct BlockingWatch: Sendable {
  public var client: ConsulClient
  public var path: String
  public var query: [String: String] = [:]
  public var wait: Duration = .seconds(300)
  public var backoff = Backoff(base: .milliseconds(250), cap: .seconds(5))
  public var logger: Logger

  public init(client: ConsulClient, path: String, query: [String: String] = [:], logger: Logger) {
    self.client = client
    self.path = path
    self.query = query
    self.logger = logger
  }

  private enum Outcome {
    case reply(ConsulReply)
    case failure(ConsulError)
    /// A new generation began (Consul is back, or its index was reset) while the request ran.
    case newGeneration
  }

  public func run(
    deliver: (JSONValue?) async -> Void, failed: (ConsulError) async -> Void = { _ in }
  ) async {
    let health = client.health
    var index = BlockingIndex()
    var backoff = backoff
    var last: JSONValue??
    var generation = health.generation
    while !Task.isCancelled {
      await health.waitUntilUp()
      if health.generation != generation {
        // Consul came back (it may have restored a snapshot) or reset its index: read once
        // without blocking, so no change is missed and no query waits on an index that is gone.
        generation = health.generation
        index.reset()
        try? await Task.sleep(for: .milliseconds(Int.random(in: 0...50)))
      }
      let started = generation
      let outcome = await request(index: index.value, generation: started)
      switch outcome {
      case .newGeneration:
        continue
      case .reply(let reply):
        health.requestSucceeded()
        backoff.succeeded()
        if !index.received(reply.index) {
          logger.info("Consul index went backwards; watching again from 0", metadata: ["path": "\(path)"])
        }
        if path == "/v1/catalog/services" { health.noteServicesIndex(index.value) }
        if last != .some(reply.body) {
          last = .some(reply.body)
          await deliver(reply.body)
        }
      case .failure(let error) where error.code == .notFound:
        health.requestSucceeded()
        backoff.succeeded()
        index.reset()
        if last != .some(nil) {
          last = .some(nil)
          await deliver(nil)
        }
        // A missing object has no index to block on; poll gently.
        try? await Task.sleep(for: .seconds(5))
      case .failure(let error):
        if Task.isCancelled { return }
        await failed(error)
        switch error.code {
        case .transport, .server:
          logger.debug("Consul request failed", metadata: ["path": "\(path)", "error": "\(error)"])
          await health.requestFailed()
          if health.isUp {
            // Consul answers the probe: a transient error (retried at once) or one of this
            // endpoint alone (backed off here).
            let delay = backoff.next(random: .random(in: 0..<1))
            if backoff.failures > 1 { try? await Task.sleep(for: delay) }
          }
        default:
          if error.code == .forbidden || error.code == .badRequest { index.reset() }
          let delay = backoff.next(random: Double.random(in: 0..<1))
          logger.log(
            level: error.code == .forbidden || error.code == .tooLarge ? .error : .warning,
            "Consul request failed; keeping the last good state",
            metadata: ["path": "\(path)", "error": "\(error)", "retry_in": "\(delay)"])
          try? await Task.sleep(for: error.code == .forbidden ? max(delay, .seconds(15)) : delay)
        }
      }
    }
  }

  /// One request, abandoned when a new generation starts before it answers.
  private func request(index: UInt64, generation: Int) async -> Outcome {
    await withTaskGroup(of: Outcome?.self) { group in
      group.addTask { [client, path, query, wait] in
        do throws(ConsulError) {
          return .reply(try await client.get(path, query: query, index: index, wait: wait))
        } catch {
          return .failure(error)
        }
      }
      group.addTask { [health = client.health] in
        await health.nextGeneration(after: generation)
        return Task.isCancelled ? nil : .newGeneration
      }
      let first = await group.next() ?? nil
      group.cancelAll()
      return first ?? .newGeneration
    }
  }
}
