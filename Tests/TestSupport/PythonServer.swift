public import Foundation

/// Starts one of the test servers under Tests/simulators: each prints "listening PORT" first.
public enum PythonServer {
  static func start(script: String, arguments: [String]) throws -> (Process, Int) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try interpreter())
    process.arguments = [EnvoyProcess.projectRoot.appendingPathComponent(script).path, "--port", "0"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    try recordPID(process.processIdentifier)
    let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
    guard let port = line.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
      stopChild(process)
      throw EnvoyError("\(script) did not start: \(line)")
    }
    return (process, port)
  }

  /// The real interpreter, not a wrapper such as a pyenv shim: a shim forks, and the PID we
  /// record and stop would not be the server's.
  public static func interpreter() throws -> String {
    let venv = EnvoyProcess.projectRoot.appendingPathComponent(".venv/bin/python3").path
    if FileManager.default.isExecutableFile(atPath: venv) { return venv }
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", "import sys; print(sys.executable)"]
    let output = Pipe()
    probe.standardOutput = output
    try probe.run()
    probe.waitUntilExit()
    let path = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    guard !path.isEmpty else { throw EnvoyError("python3 not found") }
    return path
  }
}
