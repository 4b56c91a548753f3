import Foundation
import Fuzzing
import Testing

/// Every input the fuzzers keep, replayed through the same code as `scripts/fuzz.sh` runs:
/// `corpus/<target>/` (seeds) and `regressions/<target>/` (inputs that once crashed or hung).
@Suite("Fuzz inputs replayed")
struct FuzzRegressionTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

  @Test("every stored input returns", arguments: FuzzTargets.all.keys.sorted())
  func replay(target: String) throws {
    let body = try #require(FuzzTargets.all[target])
    var replayed = 0
    for folder in ["corpus", "regressions"] {
      let directory = Self.root.appendingPathComponent("\(folder)/\(target)")
      let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
      for file in files.sorted() {
        body(Array(try Data(contentsOf: directory.appendingPathComponent(file))))
        replayed += 1
      }
    }
    #expect(replayed > 0, "no stored input for \(target)")
  }
}
