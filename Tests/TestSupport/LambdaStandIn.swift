public import Foundation
#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The Lambda stand-in (Tests/simulators/lambda_standin.py) as a child process: verifies SigV4
/// with botocore and records every invocation.
public final class LambdaStandIn: @unchecked Sendable {
  public struct Invocation: Decodable, Sendable {
    public var arn: String
    public var access_key_id: String?
    public var signature_valid: Bool
    public var problem: String?
    public var invocation_type: String?
    public var envelope: Bool
    /// The first 4 KiB of the body.
    public var body: String
    public var body_bytes: Int
    /// The Authorization's SignedHeaders list.
    public var signed_headers: [String]
  }

  public let port: Int
  private let process: ChildProcess

  /// - Parameter credentials: access key id -> secret, the pairs whose signatures verify.
  /// - Parameter host: the address it listens on.
  public static func start(credentials: [String: String], host: String = "127.0.0.1") throws -> LambdaStandIn {
    let arguments = credentials.sorted { $0.key < $1.key }.flatMap { ["--credential", "\($0.key):\($0.value)"] }
    let (process, port) = try PythonServer.start(
      script: "Tests/simulators/lambda_standin.py", arguments: arguments + ["--host", host])
    return LambdaStandIn(host: host, port: port, process: process)
  }

  public let host: String

  private init(host: String, port: Int, process: ChildProcess) {
    self.host = host
    self.port = port
    self.process = process
  }

  deinit { stop() }

  public func stop() { stopChild(process) }

  public var url: String { "http://\(host):\(port)" }

  public func invocations() async throws -> [Invocation] {
    let (_, body) = try await HTTP.get("\(url)/_standin/invocations")
    return try JSONDecoder().decode([Invocation].self, from: Data(body.utf8))
  }

  /// Forgets the invocations so far.
  public func clear() async throws {
    var request = URLRequest(url: URL(string: "\(url)/_standin/invocations")!)
    request.httpMethod = "DELETE"
    _ = try await HTTP.exchange(request)
  }
}
