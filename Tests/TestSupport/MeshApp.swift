public import Foundation

/// A mesh service's local application (Tests/simulators/mesh_app.py) as a child process: it
/// answers every request with its name and the caller identity its sidecar forwarded.
public final class MeshApp: @unchecked Sendable {
  /// What the application answers.
  public struct Answer: Decodable, Sendable {
    public var service: String
    public var method: String
    public var path: String
    /// The SPIFFE URI from `x-forwarded-client-cert`; nil when none was forwarded.
    public var caller: String?
  }

  public let name: String
  public let port: Int
  private let process: ChildProcess

  /// - Parameter host: the address it listens on.
  public static func start(name: String, host: String = "127.0.0.1") throws -> MeshApp {
    let (process, port) = try PythonServer.start(
      script: "Tests/simulators/mesh_app.py", arguments: ["--name", name, "--host", host])
    return MeshApp(name: name, port: port, process: process)
  }

  private init(name: String, port: Int, process: ChildProcess) {
    self.name = name
    self.port = port
    self.process = process
  }

  deinit { stop() }

  public func stop() { stopChild(process) }
}
