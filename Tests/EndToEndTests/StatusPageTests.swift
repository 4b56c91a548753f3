import Foundation
import TestSupport
import Testing

/// `/ui` as a person sees it: rendered by a real headless browser (Debian's chromium).
@Suite("Status page")
struct StatusPageTests {
  /// Where the screenshot is kept after the run (`test-artifacts/`, not in git).
  static let artifacts = EnvoyProcess.projectRoot.appendingPathComponent("test-artifacts")

  @Test("/ui in headless Chromium: both proxies ACKed, each Lambda service with its route")
  func statusPageInChromium() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try await mesh.bothLambdaPathsAnswer()
    let url = "\(mesh.server.adminURL)/ui"
    let browser = try Self.chromium()
    let profile = testRunDirectory.appendingPathComponent("chromium-\(UUID().uuidString.prefix(8))").path
    let common = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)", "--window-size=1400,1200"]
    // The DOM after the browser parsed and laid out the page.
    let dom = try ChildRun.run(browser, common + ["--dump-dom", url], timeout: 60)
    #expect(dom.status == 0, "\(dom.stderr)")
    let page = dom.stdout
    #expect(page.contains(#"<p id="readiness" class="ok">Ready</p>"#), "\(page)")
    for node in ["api-sidecar-proxy", "terminating-gateway"] {
      #expect(page.contains(">\(node)</td>"), "\(node) listed")
    }
    // Every type either proxy was sent is acknowledged at the version sent (no "bad" cell).
    #expect(!page.contains(#"class="bad""#), "a type not acknowledged: \(page)")
    #expect(page.contains("through terminating-gateway") && page.contains("direct from the caller's sidecar"))
    #expect(page.contains("arn:aws:lambda:us-west-2:123456789012:function:payments"))

    try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
    let screenshot = Self.artifacts.appendingPathComponent("status-page.png")
    try? FileManager.default.removeItem(at: screenshot)
    let shot = try ChildRun.run(browser, common + ["--screenshot=\(screenshot.path)", url], timeout: 60)
    #expect(shot.status == 0, "\(shot.stderr)")
    let png = try Data(contentsOf: screenshot)
    #expect(png.count > 10_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG of the page")
  }

  /// Debian's chromium (scripts/test.sh installs it).
  static func chromium() throws -> String {
    for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
      return path
    }
    throw EnvoyError("no chromium: scripts/test.sh installs Debian's chromium package")
  }
}
