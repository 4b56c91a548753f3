import Foundation
import TestSupport
import Testing

/// Every case's generated resources, as config-dump JSON, against the files under Golden/.
/// `LAMBDA_XDS_UPDATE_GOLDEN=1 swift test --filter GoldenTests` rewrites them (and fails).
@Suite("Translation golden files")
struct GoldenTests {
  @Test("generated resources match the golden files", arguments: GoldenCase.all)
  func golden(_ testCase: GoldenCase) throws {
    let problems = try Golden.check(
      try testCase.documents(), in: GoldenCase.goldenRoot.appendingPathComponent(testCase.name))
    for problem in problems { Issue.record(Comment(rawValue: problem)) }
  }

  @Test("translation is deterministic", arguments: GoldenCase.all)
  func deterministic(_ testCase: GoldenCase) throws {
    #expect(try testCase.documents() == (try testCase.documents()))
  }
}
