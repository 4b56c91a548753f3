public import CoreMetrics
import ADSProtocol
import ResourceCache
import Synchronization

/// The xDS server's metrics (swift-metrics; `serve` exports them in Prometheus's format).
///
/// Every label value comes from a fixed set (resource type, proxy kind, variant, refusal
/// reason), never from a node id, so a client cannot grow the number of series.
public final class XDSMetrics: Sendable {
  /// Why a stream was refused, as a label.
  public enum RefusalReason: String, Sendable, CaseIterable, Codable {
    case unauthorized
    case maxStreams = "max_streams"
    case maxStreamsPerNode = "max_streams_per_node"
    case rate
    case unknownNode = "unknown_node"
    /// Above this replica's fair share of the mesh's proxies.
    case rebalance
  }

  private let responses: [ResourceType: Counter]
  private let acks: [ResourceType: Counter]
  private let nacks: [ResourceType: Counter]
  private let refusals: [RefusalReason: Counter]
  private let pushToAck: Timer
  private let connected = Mutex<[String: Int]>([:])
  private let factory: any MetricsFactory

  public init(factory: any MetricsFactory) {
    self.factory = factory
    func perType(_ label: String) -> [ResourceType: Counter] {
      Dictionary(uniqueKeysWithValues: ResourceType.allCases.map {
        ($0, Counter(label: label, dimensions: [("type", $0.metricLabel)], factory: factory))
      })
    }
    responses = perType("lambda_xds_xds_responses_total")
    acks = perType("lambda_xds_xds_acks_total")
    nacks = perType("lambda_xds_xds_nacks_total")
    refusals = Dictionary(uniqueKeysWithValues: RefusalReason.allCases.map {
      ($0, Counter(label: "lambda_xds_refused_streams_total", dimensions: [("reason", $0.rawValue)], factory: factory))
    })
    pushToAck = Timer(label: "lambda_xds_push_to_ack_seconds", factory: factory)
  }

  /// Metrics that go nowhere (tests, `dump`).
  public static let none = XDSMetrics(factory: NOOPMetricsHandler.instance)

  func sent(_ type: ResourceType) { responses[type]?.increment() }
  func acknowledged(_ type: ResourceType, after elapsed: Duration?) {
    acks[type]?.increment()
    if let elapsed { pushToAck.recordNanoseconds(Int64(elapsed / .nanoseconds(1))) }
  }
  func rejected(_ type: ResourceType) { nacks[type]?.increment() }
  func refused(_ reason: RefusalReason) { refusals[reason]?.increment() }

  /// One stream more (or fewer) for a proxy of `kind` on `variant`.
  func streams(kind: String, variant: XDSVariant, change: Int) {
    let key = "\(kind)|\(variant.rawValue)"
    // Recorded under the lock, so concurrent changes reach the gauge in order.
    connected.withLock { counts in
      counts[key, default: 0] += change
      Gauge(label: "lambda_xds_connected_proxies", dimensions: [("kind", kind), ("variant", variant.rawValue)], factory: factory)
        .record(counts[key]!)
    }
  }
}

extension ResourceType {
  /// The type's name as a metric label.
  var metricLabel: String {
    switch self {
    case .cluster: "cluster"
    case .endpoint: "endpoint"
    case .secret: "secret"
    case .listener: "listener"
    case .route: "route"
    }
  }
}
