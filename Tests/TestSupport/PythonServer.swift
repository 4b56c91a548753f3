public import Foundation

/// Starts one of the test servers under Tests/simulators: each prints "listening PORT" first.
/// Its output goes to a file in the test run directory, which stays readable after a failure.
public enum PythonServer {
  static func start(script: String, arguments: [String]) throws -> (ChildProcess, Int) {
    let name = URL(fileURLWithPath: script).deletingPathExtension().lastPathComponent
    let output = testRunDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8)).log")
    FileManager.default.createFile(atPath: output.path, contents: nil)
    let process = try ChildProcess(
      try interpreter(), [EnvoyProcess.projectRoot.appendingPathComponent(script).path, "--port", "0"] + arguments,
      stdout: .file(output.path), stderr: .file(output.path))
    try recordPID(process.processIdentifier)
    let deadline = Date().addingTimeInterval(30)
    var line = ""
    while process.isRunning && Date() < deadline {
      line = ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n").first.map(String.init) ?? ""
      if line.hasPrefix("listening ") { break }
      usleep(10_000)
    }
    guard line.hasPrefix("listening "), let port = Int(line.dropFirst("listening ".count)) else {
      stopChild(process)
      throw EnvoyError("\(script) did not start: \((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
    }
    return (process, port)
  }

  /// The real interpreter, not a wrapper such as a pyenv shim: a shim forks, and the PID we
  /// record and stop would not be the server's.
  public static func interpreter() throws -> String {
    let venv = EnvoyProcess.projectRoot.appendingPathComponent(".venv/bin/python3").path
    if FileManager.default.isExecutableFile(atPath: venv) { return venv }
    let path = try ChildRun.run("/usr/bin/env", ["python3", "-c", "import sys; print(sys.executable)"])
      .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !path.isEmpty else { throw EnvoyError("python3 not found") }
    return path
  }
}
