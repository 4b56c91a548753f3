/// The upstream `Config` keys Consul's xDS server applies to an upstream's cluster and listener
/// (`structs.UpstreamConfig`). A value that cannot be read is skipped with a problem line.
public struct UpstreamSettings: Sendable, Hashable {
  public struct Limits: Sendable, Hashable {
    public var maxConnections: Int?
    public var maxPendingRequests: Int?
    public var maxConcurrentRequests: Int?
  }

  public struct PassiveHealthCheck: Sendable, Hashable {
    public var interval: Duration?
    public var maxFailures: Int?
    public var enforcingConsecutive5xx: Int?
    public var maxEjectionPercent: Int?
    public var baseEjectionTime: Duration?
  }

  /// Lower-cased; `tcp` when unset.
  public var `protocol`: String
  public var connectTimeoutMilliseconds: Int?
  public var limits: Limits?
  public var passiveHealthCheck: PassiveHealthCheck?
  public var problems: [String]

  public init(_ config: JSONValue) {
    var problems: [String] = []
    func number(_ value: JSONValue?, _ key: String) -> Int? {
      guard let value, !value.isNull else { return nil }
      guard let number = value.weakInt, number >= 0 else {
        problems.append("\(key) \(value.text) is not a non-negative number; ignored")
        return nil
      }
      return number
    }
    func duration(_ value: JSONValue?, _ key: String) -> Duration? {
      guard let value, !value.isNull else { return nil }
      // Consul decodes durations from Go duration strings, or numbers of nanoseconds.
      if let nanoseconds = value.int, nanoseconds >= 0 { return .nanoseconds(nanoseconds) }
      guard let text = value.string, let parsed = Duration(goDuration: text) else {
        problems.append("\(key) \(value.text) is not a duration such as \"10s\"; ignored")
        return nil
      }
      return parsed
    }
    `protocol` = (config["protocol"]?.string ?? "").lowercased().nonEmpty ?? "tcp"
    connectTimeoutMilliseconds = number(config["connect_timeout_ms"], "connect_timeout_ms")
    if connectTimeoutMilliseconds == 0 { connectTimeoutMilliseconds = nil }
    if let limits = config["limits"], !limits.isNull {
      self.limits = Limits(
        maxConnections: number(limits["max_connections"], "limits.max_connections"),
        maxPendingRequests: number(limits["max_pending_requests"], "limits.max_pending_requests"),
        maxConcurrentRequests: number(limits["max_concurrent_requests"], "limits.max_concurrent_requests"))
    }
    if let check = config["passive_health_check"], !check.isNull {
      passiveHealthCheck = PassiveHealthCheck(
        interval: duration(check["interval"], "passive_health_check.interval"),
        maxFailures: number(check["max_failures"], "passive_health_check.max_failures"),
        enforcingConsecutive5xx: number(check["enforcing_consecutive_5xx"], "passive_health_check.enforcing_consecutive_5xx"),
        maxEjectionPercent: number(check["max_ejection_percent"], "passive_health_check.max_ejection_percent"),
        baseEjectionTime: duration(check["base_ejection_time"], "passive_health_check.base_ejection_time"))
    }
    self.problems = problems
  }

  /// An HTTP-like protocol gets a connection manager; anything else a TCP proxy.
  public var isHTTP: Bool { Self.isHTTP(`protocol`) }
  public static func isHTTP(_ protocol: String) -> Bool { ["http", "http2", "grpc"].contains(`protocol`) }
  /// Whether the cluster speaks HTTP/2 to the destination.
  public var usesHTTP2: Bool { ["http2", "grpc"].contains(`protocol`) }
}

/// The proxy `Config` keys that shape a sidecar's inbound side (`agent/xds/config.go`).
public struct InboundSettings: Sendable, Hashable {
  public var bindAddress: String?
  public var bindPort: Int?
  /// Default 5000.
  public var localConnectTimeoutMilliseconds: Int
  public var localRequestTimeoutMilliseconds: Int?
  public var localIdleTimeoutMilliseconds: Int?
  public var problems: [String]

  public init(_ config: JSONValue) {
    var problems: [String] = []
    func number(_ key: String, _ valid: ClosedRange<Int>) -> Int? {
      guard let value = config[key], !value.isNull else { return nil }
      guard let number = value.weakInt, valid.contains(number) else {
        problems.append("\(key) \(value.text) is not a number in \(valid.lowerBound)...\(valid.upperBound); ignored")
        return nil
      }
      return number
    }
    bindAddress = config["bind_address"]?.string?.nonEmpty
    bindPort = number("bind_port", 1...65535)
    localConnectTimeoutMilliseconds = number("local_connect_timeout_ms", 0...Int(Int32.max)).flatMap { $0 == 0 ? nil : $0 } ?? 5000
    localRequestTimeoutMilliseconds = number("local_request_timeout_ms", 0...Int(Int32.max))
    localIdleTimeoutMilliseconds = number("local_idle_timeout_ms", 0...Int(Int32.max))
    self.problems = problems
  }
}

extension Duration {
  /// Go's `time.ParseDuration`: a sequence of decimal numbers with units ns, us (µs), ms, s, m, h.
  public init?(goDuration text: String) {
    var rest = Substring(text)
    var total = 0.0
    guard !rest.isEmpty else { return nil }
    if rest == "0" {
      self = .zero
      return
    }
    while !rest.isEmpty {
      let number = rest.prefix { $0.isNumber || $0 == "." }
      guard !number.isEmpty, let value = Double(number) else { return nil }
      rest = rest.dropFirst(number.count)
      let unit = rest.prefix { !$0.isNumber && $0 != "." }
      rest = rest.dropFirst(unit.count)
      let scale: Double
      switch unit {
      case "ns": scale = 1e-9
      case "us", "µs": scale = 1e-6
      case "ms": scale = 1e-3
      case "s": scale = 1
      case "m": scale = 60
      case "h": scale = 3600
      default: return nil
      }
      total += value * scale
    }
    guard total.isFinite, total < 1e10 else { return nil }
    self = .nanoseconds(Int64((total * 1e9).rounded()))
  }
}
