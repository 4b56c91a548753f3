public import ADSServer
import ConsulCatalog
public import ConsulWatch
import Logging
import Synchronization

/// Keeps replicas' loads even, as Consul's own servers do with xDS streams: a replica holding more
/// than its fair share (the catalog's proxies / healthy replicas x 1.1) refuses new streams and
/// ends the excess, at most `maxShedFraction` of its fair share each second, so the proxies move
/// to the others (a returning replica gets its share back within seconds, without a stampede).
/// The healthy replicas are those registered in Consul (`--register-in-consul`) and passing.
public struct Rebalancer: Sendable {
  public static let slack = 1.1
  public static let maxShedFraction = 0.05

  let admission: StreamAdmission
  let proxies: @Sendable () -> Int
  let client: ConsulClient
  let service: String
  let logger: Logger

  init(admission: StreamAdmission, proxies: @escaping @Sendable () -> Int, client: ConsulClient, service: String, logger: Logger) {
    self.admission = admission
    self.proxies = proxies
    self.client = client
    self.service = service
    self.logger = logger
  }

  /// A replica's fair share of `proxies` streams; nil with one replica (no limit).
  public static func fairShare(proxies: Int, replicas: Int) -> Int? {
    guard replicas > 1 else { return nil }
    return max(1, Int((Double(proxies) / Double(replicas) * slack).rounded(.up)))
  }

  /// How many streams to end now: the excess, at most a fraction of the share per second.
  public static func toShed(open: Int, fairShare: Int) -> Int {
    min(max(0, open - fairShare), max(1, Int(Double(fairShare) * maxShedFraction)))
  }

  /// Watches the healthy replicas (a blocking query) and rebalances every second until cancelled.
  func run() async {
    let replicas = HealthyReplicas()
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        var index: UInt64 = 0
        while !Task.isCancelled {
          do {
            let reply = try await client.get("/v1/health/service/\(service)", query: ["passing": ""], index: index)
            index = reply.index
            let count = reply.body.array?.count ?? 0
            replicas.count.withLock { $0 = max(count, 1) }
          } catch {
            index = 0
            try? await Task.sleep(for: .seconds(5))
          }
        }
      }
      group.addTask {
        while !Task.isCancelled {
          try? await Task.sleep(for: .seconds(1))
          let count = replicas.count.withLock { $0 }
          let share = Self.fairShare(proxies: proxies(), replicas: count)
          admission.setFairShare(share)
          guard let share else { continue }
          let shed = admission.shed(Self.toShed(open: admission.openStreams, fairShare: share))
          if shed > 0 {
            logger.info(
              "rebalancing: streams ended above this replica's fair share",
              metadata: ["ended": "\(shed)", "fair_share": "\(share)", "replicas": "\(count)"])
          }
        }
      }
      await group.next()
      group.cancelAll()
    }
  }
}

/// The healthy replicas Consul knows (at least this one).
private final class HealthyReplicas: Sendable {
  let count = Mutex(1)
}
