public import ADSServer
public import ConsulWatch
import CoreMetrics
import Prometheus

/// Every metric `serve` exports, in one Prometheus registry (one per server, so in-process tests
/// do not share counters). The names are a contract; README lists them.
public final class ServerMetrics: Sendable {
  let registry = PrometheusCollectorRegistry()
  let factory: PrometheusMetricsFactory
  public let xds: XDSMetrics
  public let consul: ConsulMetrics
  let translationSeconds: CoreMetrics.Timer
  let catalogSnapshots: CoreMetrics.Counter

  public init() {
    var factory = PrometheusMetricsFactory(registry: registry)
    // Blocking queries wait up to 5 minutes (and a little jitter).
    factory.durationHistogramBuckets["lambda_xds_consul_request_seconds"] = [
      .milliseconds(10), .milliseconds(50), .milliseconds(250), .seconds(1), .seconds(5), .seconds(30), .seconds(120),
      .seconds(330),
    ]
    factory.durationHistogramBuckets["lambda_xds_push_to_ack_seconds"] = [
      .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5), .seconds(15),
      .seconds(60),
    ]
    self.factory = factory
    xds = XDSMetrics(factory: factory)
    consul = ConsulMetrics(factory: factory)
    translationSeconds = CoreMetrics.Timer(label: "lambda_xds_translation_seconds", factory: factory)
    catalogSnapshots = CoreMetrics.Counter(label: "lambda_xds_catalog_snapshots_total", factory: factory)
    CoreMetrics.Gauge(label: "lambda_xds_build_info", dimensions: [("version", LambdaXDSVersion.current)], factory: factory).record(1)
  }

  /// Prometheus's text format.
  public func exposition() -> String { registry.emitToString() }

  func translated(after elapsed: Duration) {
    translationSeconds.recordNanoseconds(Int64(elapsed / .nanoseconds(1)))
  }

  func catalogReceived() { catalogSnapshots.increment() }

  /// Current findings by severity.
  func findings(errors: Int, warnings: Int) {
    CoreMetrics.Gauge(label: "lambda_xds_findings", dimensions: [("severity", "error")], factory: factory).record(errors)
    CoreMetrics.Gauge(label: "lambda_xds_findings", dimensions: [("severity", "warning")], factory: factory).record(warnings)
  }

  /// When each service's mesh leaf expires (seconds since 1970); nil: the service has none now.
  func certificateExpiry(_ service: String, _ timestamp: Double?) {
    let gauge = CoreMetrics.Gauge(label: "lambda_xds_certificate_expiry_timestamp_seconds", dimensions: [("service", service)], factory: factory)
    if let timestamp { gauge.record(timestamp) } else { gauge.destroy() }
  }
}
