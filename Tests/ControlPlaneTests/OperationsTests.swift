import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import ResourceCache
import NIOCore
import NIOHTTP1
import Synchronization
import Logging
import ServiceLifecycle
import TestSupport
import Testing

@testable import ControlPlane

/// What an operator watches: readiness, metrics and a graceful drain.
@Suite("Operations: readiness, metrics, drain")
struct OperationsTests {
  /// Readiness whose inputs the test sets.
  final class Inputs: Sendable {
    let translated = Flag()
    let down = Box<Duration?>(nil)
  }

  @Test("/readyz: 503 until listening and translated, 200, 503 once Consul is down too long, 503 while draining")
  func readinessTransitions() async throws {
    let inputs = Inputs()
    let readiness = Readiness(
      maxStaleness: .seconds(30), translated: { inputs.translated.value }, unreachableFor: { inputs.down.value })
    let server = ControlPlaneServer(configuration: ServeConfiguration(source: .file(path: "/nonexistent")), logger: Logger(label: "test"))
    let routes = AdminRoutes(
      cache: server.cache, status: server.status, pipeline: server.pipeline, readiness: readiness, metrics: server.metrics)
    let app = Application(router: AdminServer.router(routes))
    try await app.test(.router) { client in
      func ready() async throws -> (Int, String) {
        try await client.execute(uri: "/readyz", method: .get) { (Int($0.status.code), String(buffer: $0.body)) }
      }
      #expect(try await ready() == (503, "not ready: the xDS listener is not up yet\n"))
      readiness.listening()
      #expect(try await ready() == (503, "not ready: the first catalog is not translated yet\n"))
      inputs.translated.set()
      #expect(try await ready() == (200, "ready\n"))
      inputs.down.value = .seconds(10)
      #expect(try await ready().0 == 200, "a short outage keeps it ready")
      inputs.down.value = .seconds(31)
      #expect(try await ready() == (503, "not ready: Consul has been unreachable for 31 s (more than --ready-max-staleness)\n"))
      inputs.down.value = nil
      #expect(try await ready().0 == 200)
      readiness.draining()
      #expect(try await ready() == (503, "not ready: draining\n"))

      let health = try await client.execute(uri: "/healthz", method: .get) { Int($0.status.code) }
      #expect(health == 200)
      let unknown = try await client.execute(uri: "/nope", method: .get) { Int($0.status.code) }
      #expect(unknown == 404)
      let ui = try await client.execute(uri: "/ui", method: .get) { response in
        (response.headers[.contentType], String(buffer: response.body))
      }
      #expect(ui.0 == "text/html; charset=utf-8" && ui.1.contains("<h1>lambda-xds \(LambdaXDSVersion.current)</h1>"))
      #expect(ui.1.contains("Not ready: draining"))
      #expect(StatusPage.escape(#"<a href="x">&'"#) == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
      let metrics = try await client.execute(uri: "/metrics", method: .get) { response in
        (response.headers[.contentType], String(buffer: response.body))
      }
      #expect(metrics.0?.hasPrefix("text/plain") == true)
      #expect(metrics.1.contains(#"lambda_xds_build_info{version="\#(LambdaXDSVersion.current)"} 1"#))
    }
  }

  @Test("a wired server's metrics move with a stream; graceful shutdown drains it: not ready, no new streams, then exit")
  func metricsAndDrain() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("operations-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var configuration = ServeConfiguration(source: .file(path: ControlPlaneServerTests.example.path))
    (configuration.xdsPort, configuration.adminPort) = (0, 0)
    configuration.dataDirectory = directory
    configuration.drainTime = .seconds(3)
    var server = ControlPlaneServer(configuration: configuration, logger: Logger(label: "test"))
    let ports = Ports()
    server.onListening = { ports.set($0, $1) }
    let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: Logger(label: "test")))
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let (xds, admin) = try await ports.both()
      let watcher = ADSWatcher()
      let streamEnded = Flag()
      tasks.addTask {
        try? await watcher.run(port: xds, node: "api-sidecar-proxy")
        streamEnded.set()
      }
      try await until("the first clusters") { watcher.latest(.cluster) != nil }
      #expect(try await get(admin, "/readyz").status == 200)
      let streams = try await get(admin, "/v1/streams").body
      #expect(streams.contains(#""open" : 1"#) && streams.contains(#""unknownNodes" : ["#), "\(streams)")
      let metrics = try await eventuallyMetrics(admin) { samples in
        samples[#"lambda_xds_xds_acks_total{type="cluster"}"#] ?? 0 >= 1
      }
      #expect(metrics[#"lambda_xds_connected_proxies{kind="connect-proxy",variant="sotw"}"#] == 1)
      #expect(metrics[#"lambda_xds_xds_responses_total{type="cluster"}"#] ?? 0 >= 1)
      #expect(metrics[#"lambda_xds_xds_nacks_total{type="cluster"}"#] == 0)
      #expect(metrics["lambda_xds_push_to_ack_seconds_count"] ?? 0 >= 1)
      #expect(metrics["lambda_xds_translation_seconds_count"] ?? 0 >= 1)
      #expect(metrics["lambda_xds_catalog_snapshots_total"] ?? 0 >= 1)
      #expect(metrics[#"lambda_xds_findings{severity="error"}"#] != nil)
      // The dev CA's leaves: one expiry per mesh service, in the future.
      let expiry = try #require(metrics[#"lambda_xds_certificate_expiry_timestamp_seconds{service="api"}"#])
      #expect(expiry > Date().timeIntervalSince1970)

      let started = ContinuousClock.now
      await group.triggerGracefulShutdown()
      try await poll("readiness false") { try await get(admin, "/readyz").status == 503 }
      // No new streams while draining: the listener is closed.
      try await until("the xDS listener closed") { !tcpConnects(xds) }
      try await until("the stream ended by the drain") { streamEnded.value }
      let drained = ContinuousClock.now - started
      #expect(drained >= .seconds(2.5), "the open stream stayed for the drain time: \(drained)")
      // The group ends too (a part that would not stop is cancelled drain time + 10 s after the signal).
      try await tasks.next()
      tasks.cancelAll()
    }
  }

  func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(5))
    return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
  }

  /// Polls an async condition (bounded, 10 s).
  func poll(_ what: String, _ condition: () async throws -> Bool) async throws {
    for _ in 0..<500 {
      if try await condition() { return }
      try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting for \(what)")
  }

  /// Polls /metrics until `condition` holds of its samples (bounded, 10 s).
  func eventuallyMetrics(_ port: Int, _ condition: ([String: Double]) -> Bool) async throws -> [String: Double] {
    var samples: [String: Double] = [:]
    for _ in 0..<200 {
      samples = Self.samples(try await get(port, "/metrics").body)
      if condition(samples) { return samples }
      try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("metrics never met the condition: \(samples)")
    return samples
  }

  /// Prometheus text as `name{labels}` -> value.
  static func samples(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
      samples[String(line[..<space])] = value
    }
    return samples
  }
}

/// Whether a TCP connection to 127.0.0.1:`port` is accepted.
func tcpConnects(_ port: Int) -> Bool {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { return false }
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_port = in_port_t(UInt16(port).bigEndian)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  return withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
  }
}

/// A value shared between tasks.
final class Box<Value: Sendable>: Sendable {
  private let stored: Mutex<Value>
  init(_ value: Value) { stored = Mutex(value) }
  var value: Value {
    get { stored.withLock { $0 } }
    set { stored.withLock { $0 = newValue } }
  }
  func mutate(_ change: (inout Value) -> Void) { stored.withLock { change(&$0) } }
}

/// A flag set once.
final class Flag: Sendable {
  private let box = Box(false)
  var value: Bool { box.value }
  func set() { box.value = true }
}
