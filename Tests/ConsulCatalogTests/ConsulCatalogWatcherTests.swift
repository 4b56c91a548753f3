import AsyncHTTPClient
import ConsulCatalog
import ConsulWatch
import Foundation
import Logging
import TestSupport
import Testing

/// The watcher against the Consul API simulator (real HTTP, real blocking queries).
@Suite("Consul catalog watcher", .serialized)
struct ConsulCatalogWatcherTests {
  /// Runs a watcher against a fresh simulator and hands the test what it published.
  /// - Parameters:
  ///   - preload: a catalog file loaded into the simulator before the watcher starts.
  ///   - wait: the blocking queries' `wait`.
  ///   - checkInterval: how often the health monitor checks a Consul that seems up.
  func withWatcher(
    token: String? = nil, clientToken: String? = nil, simulatorArguments: [String] = [], preload: String? = nil,
    wait: Duration = .seconds(5), checkInterval: Duration = .seconds(5),
    _ body: @Sendable (ConsulSimulator, Recorder<CatalogSnapshot>, Recorder<ConsulError>) async throws -> Void
  ) async throws {
    let simulator = try await ConsulSimulator.start(token: token, arguments: simulatorArguments)
    defer { simulator.stop() }
    if let preload { try await simulator.load(catalogFile: preload) }
    var config = ConsulConfig()
    config.address = simulator.address
    config.token = clientToken
    let http = try ConsulClient.makeHTTPClient(config)
    var logger = Logger(label: "consul-watch-test")
    logger.logLevel = .critical
    let health = ConsulHealth(checkInterval: checkInterval, logger: logger)
    var watcher = ConsulCatalogWatcher(
      client: ConsulClient(config: config, http: http, health: health), datacenter: "dc1", logger: logger)
    watcher.wait = wait
    let published = Recorder<CatalogSnapshot>()
    let errors = Recorder<ConsulError>()
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { [watcher] in
          await watcher.run(publish: { published.append($0) }, failed: { errors.append($0) })
        }
        try await body(simulator, published, errors)
        group.cancelAll()
      }
    } catch {
      try? await http.shutdown()
      throw error
    }
    try await http.shutdown()
  }

  @Test("the example objects in Consul give the same snapshot as the catalog file")
  func sameAsFile() async throws {
    // Loaded before the watcher starts: every snapshot it publishes must then be complete.
    try await withWatcher(preload: CatalogFileTests.example) { simulator, published, _ in
      var expected = try CatalogFile.snapshot(contentsOf: CatalogFileTests.example)
      expected.trustDomain = "11111111-2222-3333-4444-555555555555.consul"
      expected.aclDefaultPolicy = "allow"
      try await eventually("the catalog to arrive") { published.items.last == expected }
      #expect(published.items.allSatisfy { $0 == expected }, "no partial snapshot before every watch answered")
    }
  }

  @Test("a registration change reaches a new snapshot quickly; a burst of 100 gives few snapshots")
  func changesAndBursts() async throws {
    try await withWatcher { simulator, published, _ in
      try await simulator.load(catalogFile: CatalogFileTests.example)
      try await eventually("the first snapshot") { published.items.last?.lambdas.count == 2 }
      let start = ContinuousClock.now
      try await simulator.put("/v1/catalog/register", json: #"{"Node":"n2","Address":"10.0.0.9","Service":{"Service":"web","Port":80}}"#)
      try await eventually("the new service") { published.items.last?.instances["web"] != nil }
      print("registration -> snapshot: \(ContinuousClock.now - start)")

      let before = published.items.count
      let burstStart = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<100 {
          group.addTask {
            try await simulator.put(
              "/v1/catalog/register",
              json: #"{"Node":"n2","Address":"10.0.0.9","Service":{"ID":"web-\#(index)","Service":"web","Port":80}}"#)
          }
        }
        try await group.waitForAll()
      }
      let burst = ContinuousClock.now - burstStart
      try await eventually("the last change") { published.items.last?.healthyInstances(of: "web").count == 101 }
      let snapshots = published.items.count - before
      print("100 concurrent registrations in \(burst) -> \(snapshots) snapshots")
      // A quiet period closes a snapshot only when changes pause; maxDelay (1 s) caps a burst.
      #expect(snapshots <= 10, "100 changes must be coalesced into a few snapshots")
    }
  }

  @Test("during an outage nothing (and nothing empty) is published, requests back off, recovery converges")
  func outage() async throws {
    try await withWatcher { simulator, published, errors in
      try await simulator.load(catalogFile: CatalogFileTests.example)
      try await eventually("the first snapshot") { published.items.last?.lambdas.count == 2 }
      let count = published.items.count
      let before = try await simulator.requestCounts().values.reduce(0, +)
      try await simulator.put("/_sim/faults", json: #"{"error_count": 100000, "error_status": 500}"#)
      // Wake every blocking query so they all hit the outage.
      try await simulator.put("/v1/catalog/register", json: #"{"Node":"n3","Service":{"Service":"x"}}"#)
      try await Task.sleep(for: .seconds(3))
      let during = try await simulator.requestCounts().values.reduce(0, +) - before
      print("requests during a 3 s outage with 9 watches: \(during)")
      #expect(during < 9 * 12, "backoff must bound the retries")
      #expect(published.items.count == count, "nothing is published while Consul fails")
      #expect(errors.items.contains { $0.code == .server })
      try await simulator.put("/_sim/faults", json: "{}")
      try await eventually("recovery") { published.items.last?.instances["x"] != nil }
      // (Snapshots before the first complete one may show the example half loaded.)
      #expect(published.items[(count - 1)...].allSatisfy { $0.lambdas.count == 2 }, "never an emptied catalog")
    }
  }

  @Test("an index that goes backwards: the monitor notices long before any blocking query times out; no change is lost")
  func indexReset() async throws {
    // Blocking queries wait 60 s: only the monitor's check (every second here) can notice in time.
    try await withWatcher(preload: CatalogFileTests.example, wait: .seconds(60), checkInterval: .seconds(1)) { simulator, published, _ in
      try await eventually("the first snapshot") { published.items.last?.lambdas.count == 2 }
      try await simulator.put("/_sim/faults", json: #"{"reset_index": 2}"#)
      let reset = ContinuousClock.now
      try await simulator.put("/v1/catalog/register", json: #"{"Node":"n4","Service":{"Service":"after-reset"}}"#)
      try await eventually("the change after the reset", timeout: 10) { published.items.last?.instances["after-reset"] != nil }
      print("an index reset, then a change: in the snapshot after \(ContinuousClock.now - reset)")
      #expect(published.items.last?.lambdas.count == 2, "nothing lost")
    }
  }

  @Test(
    "recovery is coordinated: a change made as Consul returns arrives within about a second, whatever the outage",
    arguments: ["error_seconds", "refuse_seconds", "hang_seconds"])
  func coordinatedRecovery(fault: String) async throws {
    try await withWatcher(preload: CatalogFileTests.example, wait: .seconds(60), checkInterval: .seconds(1)) { simulator, published, _ in
      try await eventually("the first snapshot") { published.items.last?.lambdas.count == 2 }
      let count = published.items.count
      try await simulator.put("/_sim/faults", json: #"{"\#(fault)": 6}"#)
      let outage = ContinuousClock.now
      // Past the outage, Consul answers again: make a change at once.
      try await eventually("Consul answers again", timeout: 20) {
        guard ContinuousClock.now - outage > .seconds(6) else { return false }
        return (try? await simulator.put(
          "/v1/catalog/register", json: #"{"Node":"n6","Service":{"Service":"after-outage"}}"#)) != nil
      }
      let changed = ContinuousClock.now
      try await eventually("the change after the outage", timeout: 10) { published.items.last?.instances["after-outage"] != nil }
      let took = ContinuousClock.now - changed
      print("\(fault) for 6 s, then a change: in the snapshot after \(took)")
      #expect(took < .seconds(2), "\(fault): \(took)")
      #expect(published.items[(count - 1)...].allSatisfy { $0.lambdas.count == 2 }, "never an emptied catalog")
      let requests = try await simulator.requestCounts()
      print("\(fault): probes of /v1/status/leader so far: \(requests["/v1/status/leader"] ?? 0)")
    }
  }

  @Test("a wrong token is reported as forbidden and nothing is published")
  func forbidden() async throws {
    try await withWatcher(token: "right", clientToken: "wrong") { _, published, errors in
      try await eventually("the 403") { errors.items.contains { $0.code == .forbidden } }
      #expect(errors.items.first { $0.code == .forbidden }?.message.contains("ACL not found") == true)
      #expect(published.items.isEmpty)
    }
  }

  @Test("dropped connections and slow answers: the last catalog stays, changes still arrive")
  func dropsAndDelays() async throws {
    try await withWatcher { simulator, published, errors in
      try await simulator.load(catalogFile: CatalogFileTests.example)
      try await eventually("the first snapshot") { published.items.last?.lambdas.count == 2 }
      let loaded = published.items.count - 1
      // The next 20 reads lose their connection, and every read is slowed by 300 ms.
      try await simulator.put("/_sim/faults", json: #"{"drop": 20, "delay_ms": 300}"#)
      try await simulator.put("/v1/catalog/register", json: #"{"Node":"n5","Service":{"Service":"after-drops"}}"#)
      try await eventually("the change despite drops and delays", timeout: 30) {
        published.items.last?.instances["after-drops"] != nil
      }
      #expect(errors.items.contains { $0.code == .transport }, "a dropped connection is a transport error")
      #expect(published.items[loaded...].allSatisfy { $0.lambdas.count == 2 }, "never an emptied catalog")
      try await simulator.put("/_sim/faults", json: "{}")
    }
  }

  @Test("an answer over 64 MiB is refused unread, with an error; the last good catalog stays")
  func hugeAnswer() async throws {
    try await withWatcher(preload: CatalogFileTests.example) { simulator, published, errors in
      try await eventually("the first snapshot") { published.items.last?.lambdas.count == 2 }
      let count = published.items.count
      try await simulator.put("/_sim/faults", json: #"{"huge_body_mb": 100}"#)
      try await simulator.put("/v1/catalog/register", json: #"{"Node":"n7","Service":{"Service":"behind-a-huge-answer"}}"#)
      try await eventually("the refusal", timeout: 30) { errors.items.contains { $0.code == .tooLarge } }
      #expect(published.items.count == count, "nothing published from a refused answer")
      try await simulator.put("/_sim/faults", json: "{}")
      try await eventually("the change once answers are normal", timeout: 30) {
        published.items.last?.instances["behind-a-huge-answer"] != nil
      }
    }
  }

  @Test("Consul's ACL default policy (X-Consul-Default-Acl-Policy) reaches the snapshot")
  func aclDefaultPolicy() async throws {
    try await withWatcher(simulatorArguments: ["--acl-default", "deny"]) { simulator, published, _ in
      try await simulator.load(catalogFile: CatalogFileTests.example)
      try await eventually("a snapshot") { published.items.last?.lambdas.count == 2 }
      #expect(published.items.last?.aclDefaultPolicy == "deny")
    }
  }

  @Test("another datacenter: its mesh gateways and the endpoints upstreams name there arrive; one that cannot answer stalls nothing")
  func otherDatacenters() async throws {
    let remote = try await ConsulSimulator.start(arguments: ["--datacenter", "dc2"])
    defer { remote.stop() }
    for registration in [
      #"{"Node":"m","Address":"10.2.0.6","Service":{"Kind":"mesh-gateway","ID":"mesh-gateway","Service":"mesh-gateway","Port":8443,"TaggedAddresses":{"wan":{"Address":"198.18.2.6","Port":443}}}}"#,
      #"{"Node":"n","Address":"10.2.0.10","Service":{"ID":"api","Service":"api","Port":8080}}"#,
      #"{"Node":"n","Address":"10.2.0.10","Service":{"Kind":"connect-proxy","ID":"api-sidecar-proxy","Service":"api-sidecar-proxy","Port":21000,"Proxy":{"DestinationServiceName":"api"}}}"#,
    ] { try await remote.put("/v1/catalog/register", json: registration) }
    let unreachable = freePort()
    try await withWatcher(simulatorArguments: ["--wan", "dc2=http://\(remote.address)", "--wan", "dc3=http://127.0.0.1:\(unreachable)"]) {
      simulator, published, _ in
      try await simulator.put(
        "/v1/catalog/register",
        json: #"{"Node":"w","Address":"10.1.0.10","Service":{"Kind":"connect-proxy","ID":"web-sidecar-proxy","Service":"web-sidecar-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Upstreams":[{"DestinationName":"api","Datacenter":"dc2","LocalBindPort":10001},{"DestinationName":"db","Datacenter":"dc3","LocalBindPort":10002}]}}}"#)
      try await eventually("dc2's answers", timeout: 30) {
        published.items.last?.remote["dc2"]?.connectEndpoints["api"]?.map(\.id) == ["api-sidecar-proxy"]
      }
      let snapshot = try #require(published.items.last)
      #expect(snapshot.datacenters == ["dc1", "dc2", "dc3"])
      #expect(snapshot.remote["dc2"]?.meshGateways.map(\.wanAddress) == [TaggedAddress(address: "198.18.2.6", port: 443)])
      #expect(snapshot.remote["dc3"]?.connectEndpoints["db"] == nil, "dc3 never answered")
      // A new upstream there is asked about as it appears.
      try await remote.put(
        "/v1/catalog/register", json: #"{"Node":"n","Address":"10.2.0.11","Service":{"ID":"db","Service":"db","Port":5432,"Connect":{"Native":true}}}"#)
      try await simulator.put(
        "/v1/catalog/register",
        json: #"{"Node":"w","Address":"10.1.0.10","Service":{"Kind":"connect-proxy","ID":"web-sidecar-proxy","Service":"web-sidecar-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Upstreams":[{"DestinationName":"db","Datacenter":"dc2","LocalBindPort":10002}]}}}"#)
      try await eventually("the new upstream's endpoints; the old one forgotten", timeout: 30) {
        let dc2 = published.items.last?.remote["dc2"]
        return dc2?.connectEndpoints["db"]?.map(\.id) == ["db"] && dc2?.connectEndpoints["api"] == nil
      }
    }
  }
}
