import Foundation
import TestSupport
import Testing

/// Stopping `serve` the way an orchestrator does, with real Envoys connected.
@Suite("Lifecycle")
struct LifecycleTests {
  @Test("SIGTERM: not ready at once, open streams drained, exit 0 within the drain time; Envoy keeps serving")
  func drainOnSIGTERM() async throws {
    let mesh = try await MeshDeployment.start(serveArguments: ["--drain-seconds", "3"])
    defer { mesh.stop() }
    try await eventually("payments reachable", timeout: 30) { try await mesh.call("payments").status == 201 }
    try await eventually("ready", timeout: 10) { try await HTTP.get("\(mesh.server.adminURL)/readyz").status == 200 }

    let started = Date()
    mesh.server.sendTerminate()
    let draining = try await poll("/readyz 503 while draining", timeout: 10, every: 0.05) { () -> String? in
      let (status, body) = try await HTTP.get("\(mesh.server.adminURL)/readyz")
      return status == 503 ? body : nil
    }
    #expect(draining == "not ready: draining\n")
    #expect(mesh.server.isRunning, "the server stays for the drain")
    let status = mesh.server.waitForExit(timeout: 20)
    let seconds = Date().timeIntervalSince(started)
    #expect(status == 0, "\(mesh.server.log.suffix(2000))")
    #expect(seconds >= 2.5 && seconds < 10, "exit after \(seconds) s (drain 3 s)")
    #expect(mesh.server.log.contains("draining: no new xDS streams"))

    // Envoy keeps its last configuration: both Lambda paths still answer, signed as before.
    #expect(try await mesh.sidecar.admin("/stats?filter=control_plane.connected_state").contains("connected_state: 0"))
    #expect(try await mesh.call("payments").status == 201)
    #expect(try await mesh.signer(of: "authentication") == MeshDeployment.sidecarKey)
  }
}
