/// A failed Consul request or a bad Consul configuration.
public struct ConsulError: Error, Equatable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Value: String { case configuration, forbidden, notFound, badRequest, server, transport, tooLarge }
    private let value: Value
    private init(_ value: Value) { self.value = value }

    public static let configuration = Code(.configuration)
    /// 403: a bad or unknown token, or a missing permission. Retried slowly; reported loudly.
    public static let forbidden = Code(.forbidden)
    /// 404: for a single config entry this means "does not exist".
    public static let notFound = Code(.notFound)
    public static let badRequest = Code(.badRequest)
    /// 5xx, e.g. "No cluster leader": transient.
    public static let server = Code(.server)
    /// Connection refused, reset, timed out.
    public static let transport = Code(.transport)
    /// An answer over ``ConsulClient/maxResponseBytes``: refused unread, the last good state kept.
    public static let tooLarge = Code(.tooLarge)

    public var description: String { value.rawValue }
  }

  public let code: Code
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \"\(message)\"" }
}
