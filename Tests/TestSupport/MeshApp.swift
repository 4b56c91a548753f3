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
    /// The Host header it received.
    public var host: String?
  }

  public let name: String
  public let port: Int
  private let process: ChildProcess

  /// - Parameters:
  ///   - host: the address it listens on.
  ///   - tls: serve HTTPS with this certificate and key (PEM files).
  public static func start(name: String, host: String = "127.0.0.1", tls: (certificate: String, key: String)? = nil) throws
    -> MeshApp
  {
    let certificate = tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? []
    let (process, port) = try PythonServer.start(
      script: "Tests/simulators/mesh_app.py", arguments: ["--name", name, "--host", host] + certificate)
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
