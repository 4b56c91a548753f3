public import CoreMetrics

/// Metrics of the requests lambda-xds makes to Consul (swift-metrics).
///
/// The endpoint label is the path's first two segments after `/v1/` (`health/service`,
/// `config/service-defaults`, `agent/connect`): a fixed set, never a service name.
public struct ConsulMetrics: Sendable {
  let factory: any MetricsFactory

  public init(factory: any MetricsFactory) { self.factory = factory }

  /// Metrics that go nowhere.
  public static let none = ConsulMetrics(factory: NOOPMetricsHandler.instance)

  /// One request to `path`, answered with HTTP `code` (nil: no answer) after `elapsed`.
  func request(_ path: String, code: Int?, elapsed: Duration) {
    let endpoint = Self.endpoint(path)
    Counter(
      label: "lambda_xds_consul_requests_total",
      dimensions: [("endpoint", endpoint), ("code", code.map(String.init) ?? "error")], factory: factory
    ).increment()
    Timer(label: "lambda_xds_consul_request_seconds", dimensions: [("endpoint", endpoint)], factory: factory)
      .recordNanoseconds(Int64(elapsed / .nanoseconds(1)))
  }

  static func endpoint(_ path: String) -> String {
    let segments = path.split(separator: "?").first?.split(separator: "/") ?? []
    return segments.dropFirst(segments.first == "v1" ? 1 : 0).prefix(2).joined(separator: "/")
  }
}
