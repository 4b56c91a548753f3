/// Something translation noticed about one service: why it was left out (an error) or what is
/// probably a mistake (a warning). Findings reach logs, `dump` and `check`; they never stop the
/// rest of the configuration.
public struct Finding: Sendable, Hashable, Comparable, CustomStringConvertible {
  public enum Severity: String, Sendable, Hashable, Comparable {
    case error
    case warning

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .error && rhs == .warning }
  }

  public var severity: Severity
  public var service: String
  public var message: String

  public init(_ severity: Severity, service: String, _ message: String) {
    self.severity = severity
    self.service = service
    self.message = message
  }

  public static func error(_ service: String, _ message: String) -> Finding { Finding(.error, service: service, message) }
  public static func warning(_ service: String, _ message: String) -> Finding { Finding(.warning, service: service, message) }

  public static func < (lhs: Self, rhs: Self) -> Bool {
    (lhs.severity, lhs.service, lhs.message) < (rhs.severity, rhs.service, rhs.message)
  }

  public var description: String { "\(severity): \(service): \(message)" }
}
