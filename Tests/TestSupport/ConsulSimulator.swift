public import Foundation
#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The Consul API simulator (Tests/simulators/consul_simulator.py) run as a child process.
public final class ConsulSimulator: @unchecked Sendable {
  public let port: Int
  private let process: ChildProcess

  /// - Parameter arguments: more simulator flags (`--tls-cert`, `--tls-key`, `--tls-client-ca`, `--unix`).
  public static func start(token: String? = nil, arguments: [String] = []) async throws -> ConsulSimulator {
    let (process, port) = try PythonServer.start(
      script: "Tests/simulators/consul_simulator.py", arguments: (token.map { ["--token", $0] } ?? []) + arguments)
    return ConsulSimulator(port: port, process: process)
  }

  private init(port: Int, process: ChildProcess) {
    self.port = port
    self.process = process
  }

  deinit { stop() }

  public func stop() { stopChild(process) }

  public var address: String { "127.0.0.1:\(port)" }

  public func put(_ path: String, json: String) async throws {
    var request = URLRequest(url: URL(string: "http://\(address)\(path)")!)
    request.httpMethod = "PUT"
    request.httpBody = Data(json.utf8)
    let (status, body) = try await HTTP.send(request)
    guard status == 200 else { throw EnvoyError("PUT \(path): \(status) \(body)") }
  }

  public func delete(_ path: String) async throws {
    var request = URLRequest(url: URL(string: "http://\(address)\(path)")!)
    request.httpMethod = "DELETE"
    _ = try await HTTP.send(request)
  }

  /// Requests served per path so far.
  public func requestCounts() async throws -> [String: Int] {
    let (_, body) = try await HTTP.get("http://\(address)/_sim/stats")
    let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    return json?["requests"] as? [String: Int] ?? [:]
  }

  /// Loads every registration and config entry of a catalog file, as a user would move them.
  public func load(catalogFile path: String) async throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let document = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    for registration in document["registrations"] as? [Any] ?? [] {
      try await put("/v1/catalog/register", json: String(decoding: try JSONSerialization.data(withJSONObject: registration), as: UTF8.self))
    }
    for entry in document["config_entries"] as? [Any] ?? [] {
      try await put("/v1/config", json: String(decoding: try JSONSerialization.data(withJSONObject: entry), as: UTF8.self))
    }
    for (key, value) in document["kv"] as? [String: Any] ?? [:] {
      let text = try value as? String ?? String(decoding: JSONSerialization.data(withJSONObject: value), as: UTF8.self)
      try await put("/v1/kv/\(key)", json: text)
    }
  }
}
