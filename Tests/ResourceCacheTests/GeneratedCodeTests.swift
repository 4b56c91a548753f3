import Foundation
import TestSupport
import Testing

/// The committed Swift code in Sources/EnvoyAPI must be what scripts/generate-protos.sh makes
/// from proto/: the stamp it writes lists hashes of both, and this test recomputes them.
@Test("generated code matches proto/ (regenerate with scripts/generate-protos.sh)")
func generatedCodeMatchesProtos() throws {
  let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()
  let run = try ChildRun.run("/bin/bash", [root.appendingPathComponent("scripts/proto-stamp.sh").path])
  let current = run.stdout
  #expect(run.status == 0)
  let recorded = try String(contentsOf: root.appendingPathComponent("proto/GENERATED.sha256"), encoding: .utf8)
  #expect(current.split(separator: "\n").count > 70)
  #expect(current == recorded, "proto/ or Sources/EnvoyAPI/Generated changed without regenerating")
}
