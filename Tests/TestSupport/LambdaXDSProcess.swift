public import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// The `lambda-xds` executable run as a user runs it (built by `swift build`, which
/// scripts/test.sh runs before `swift test`).
public final class LambdaXDSProcess: @unchecked Sendable {
  public let xdsHost: String
  public let xdsPort: Int
  public let adminPort: Int
  public let logFile: URL
  private var process: ChildProcess
  private let arguments: [String]

  /// `LAMBDA_XDS_BIN`, else the debug build.
  public static func binary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["LAMBDA_XDS_BIN"] { return path }
    let path = EnvoyProcess.projectRoot.appendingPathComponent(".build/debug/lambda-xds").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
      throw EnvoyError("no lambda-xds binary at \(path): run `swift build` first (scripts/test.sh does)")
    }
    return path
  }

  /// Runs a one-shot command (`dump`, `check`, `bootstrap`) and returns its exit status and output.
  public static func run(_ arguments: [String]) throws -> ChildRun {
    try ChildRun.run(try binary(), arguments)
  }

  /// Starts `lambda-xds serve` with `arguments` plus `--xds-address` (on `xdsHost`) and
  /// `--admin-address`, and waits until it listens.
  public static func serve(_ arguments: [String], xdsHost: String = "127.0.0.1") async throws -> LambdaXDSProcess {
    let port = freePort()
    let adminPort = freePort()
    let directory = testRunDirectory.appendingPathComponent("lambda-xds-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let log = directory.appendingPathComponent("serve.log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let full = ["serve", "--xds-address", address(xdsHost, port), "--admin-address", "127.0.0.1:\(adminPort)"] + arguments
    let server = LambdaXDSProcess(
      xdsHost: xdsHost, xdsPort: port, adminPort: adminPort, logFile: log, process: try launch(full, log: log),
      arguments: full)
    try await server.waitUntilListening()
    return server
  }

  /// Another `serve` with this one's arguments (not its addresses): a replica.
  public func replica() async throws -> LambdaXDSProcess {
    try await Self.serve(Array(arguments.dropFirst(5)), xdsHost: xdsHost)
  }

  private static func launch(_ arguments: [String], log: URL) throws -> ChildProcess {
    let process = try ChildProcess(try binary(), arguments, stdout: .file(log.path), stderr: .file(log.path))
    try recordPID(process.processIdentifier)
    return process
  }

  private func waitUntilListening(after offset: Int = 0) async throws {
    try await eventually("lambda-xds serve listening", timeout: 30) {
      guard process.isRunning else { throw EnvoyError("lambda-xds serve exited: \(log)") }
      let fresh = String(log.utf8.dropFirst(offset)) ?? ""
      return fresh.contains("xDS server listening") && fresh.contains("admin API listening")
    }
  }

  private init(xdsHost: String, xdsPort: Int, adminPort: Int, logFile: URL, process: ChildProcess, arguments: [String]) {
    self.xdsHost = xdsHost
    self.xdsPort = xdsPort
    self.adminPort = adminPort
    self.logFile = logFile
    self.process = process
    self.arguments = arguments
  }

  public var pid: Int32 { process.processIdentifier }

  /// SIGKILL: the server gets no chance to say goodbye (a crash, an OOM kill).
  public func kill() {
    _ = Glibc.kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  /// SIGTERM, as an orchestrator stops it; returns at once (see ``waitForExit(timeout:)``).
  public func sendTerminate() { _ = Glibc.kill(process.processIdentifier, SIGTERM) }

  /// Waits for the process to exit (at most `timeout` seconds, then SIGKILL); its exit status.
  public func waitForExit(timeout: Double = 30) -> Int32 {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { kill() }
    process.waitUntilExit()
    return process.terminationStatus
  }

  public var isRunning: Bool { process.isRunning }

  /// Starts the server again with the same arguments and ports, and waits until it listens.
  public func restart() async throws {
    let offset = log.utf8.count
    process = try Self.launch(arguments, log: logFile)
    try await waitUntilListening(after: offset)
  }

  /// CPU seconds the server has used (user and system).
  public var cpuSeconds: Double {
    let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
  }

  /// The server's resident memory (VmRSS), in KiB.
  public var residentKiB: Int {
    let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
  }

  deinit { stop() }

  public func stop() { stopChild(process) }

  public var adminURL: String { "http://127.0.0.1:\(adminPort)" }

  public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

  /// The bootstrap `lambda-xds bootstrap` prints for a node pointed at this server.
  /// - Parameter adminAddress: where that Envoy's admin endpoint listens (port 0: Envoy picks).
  public func bootstrap(nodeID: String, extra: [String] = [], adminAddress: String = "127.0.0.1:0") throws -> String {
    let result = try Self.run(
      ["bootstrap", "--node-id", nodeID, "--xds-address", address(xdsHost, xdsPort), "--admin-address", adminAddress] + extra)
    guard result.status == 0 else { throw EnvoyError("bootstrap failed: \(result.stderr)") }
    return result.stdout
  }
}

/// `HOST:PORT` as the command line takes it (an IPv6 host in brackets).
public func address(_ host: String, _ port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
