public import Foundation

/// Golden files: whole documents compared as text, rewritten only when
/// `LAMBDA_XDS_UPDATE_GOLDEN=1` is set, and then the run fails so an update can never pass CI.
public enum Golden {
  public static var isUpdating: Bool { ProcessInfo.processInfo.environment["LAMBDA_XDS_UPDATE_GOLDEN"] == "1" }

  /// Checks every document against the files in `directory` (named by the keys). When updating,
  /// the directory is emptied first so no stale file survives, and the returned message says so.
  /// Returns the mismatches (empty when everything matches).
  public static func check(_ documents: [String: String], in directory: URL) throws -> [String] {
    if isUpdating {
      try? FileManager.default.removeItem(at: directory)
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      for (name, text) in documents {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
      }
      return ["golden files in \(directory.lastPathComponent) rewritten; run again without LAMBDA_XDS_UPDATE_GOLDEN"]
    }
    var problems: [String] = []
    let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    for stale in Set(existing).subtracting(documents.keys) {
      problems.append("\(directory.lastPathComponent)/\(stale) is no longer generated")
    }
    for (name, text) in documents.sorted(by: { $0.key < $1.key }) {
      let file = directory.appendingPathComponent(name)
      guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
        problems.append("\(directory.lastPathComponent)/\(name) is missing (LAMBDA_XDS_UPDATE_GOLDEN=1 writes it)")
        continue
      }
      if expected != text {
        problems.append("\(directory.lastPathComponent)/\(name) differs:\n\(firstDifference(expected, text))")
      }
    }
    return problems
  }

  private static func firstDifference(_ expected: String, _ actual: String) -> String {
    let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let b = actual.split(separator: "\n", omittingEmptySubsequences: false)
    for index in 0..<max(a.count, b.count) {
      let left = index < a.count ? String(a[index]) : "<end>"
      let right = index < b.count ? String(b[index]) : "<end>"
      if left != right { return "  line \(index + 1)\n  expected: \(left)\n  actual:   \(right)" }
    }
    return "  (no line differs)"
  }
}
