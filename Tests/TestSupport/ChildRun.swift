public import Foundation

/// What a short-lived child process did.
public struct ChildRun: Sendable {
  /// The exit status; -1 when it had to be stopped or died of a signal.
  public var status: Int32
  public var stdout: String
  public var stderr: String

  /// Runs a program to completion (stopped by PID after `timeout` seconds), recording its PID
  /// meanwhile so scripts/test.sh can stop it if the test process dies. Output goes through
  /// files, so a chatty child can never block on a full pipe.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Double = 60
  ) throws -> ChildRun {
    let directory = testRunDirectory.appendingPathComponent("run-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let out = directory.appendingPathComponent("stdout")
    let err = directory.appendingPathComponent("stderr")
    let process = try ChildProcess(executable, arguments, environment: environment, stdout: .file(out.path), stderr: .file(err.path))
    try recordPID(process.processIdentifier)
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    stopChild(process)
    let exited = process.exitedNormally
    return ChildRun(
      status: exited ? process.terminationStatus : -1,
      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
  }
}
