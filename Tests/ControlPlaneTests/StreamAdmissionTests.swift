@testable import ADSProtocol
@testable import ADSServer
import Foundation
import GRPCCore
import ResourceCache
import ControlPlane
import TestSupport
import Testing

/// What a client can make the server hold: limits on streams, unknown node ids, the status board.
@Suite("Stream admission and bounded state")
struct StreamAdmissionTests {
  static func snapshot() throws -> Snapshot { try SampleResources(listenerPort: 9).snapshot() }

  @Test("--max-streams-per-node, --max-streams and --max-new-streams-per-second refuse with RESOURCE_EXHAUSTED and a reason")
  func limits() async throws {
    var limits = StreamLimits()
    limits.maxStreams = 2
    limits.maxStreamsPerNode = 1
    try await XDSHarness.with(limits: limits) { xds in
      for node in ["a", "b", "c"] { _ = xds.cache.set(try Self.snapshot(), for: node) }
      try await withThrowingTaskGroup(of: Void.self) { group in
        let served = Counter()
        for node in ["a", "b"] {
          group.addTask {
            _ = await StreamProbe.open(port: xds.port, node: node, holdOpen: true) { if $0 == .served { served.add() } }
          }
        }
        try await until("two streams served") { served.value == 2 }
        let sameNode = await StreamProbe.open(port: xds.port, node: "a")
        #expect(sameNode == .refused(.resourceExhausted, "node a already has 1 open xDS streams (--max-streams-per-node)"))
        let third = await StreamProbe.open(port: xds.port, node: "c")
        #expect(third == .refused(.resourceExhausted, "the server holds its maximum of 2 xDS streams (--max-streams)"))
        group.cancelAll()
      }
      // The held streams ended: their places are free again.
      try await until("both released") { xds.status.status(of: "a")?.streams == 0 && xds.status.status(of: "b")?.streams == 0 }
      #expect(await StreamProbe.open(port: xds.port, node: "c") == .served)
    }

    // One new stream per 10 s (a burst of one): the first is served, the next ones refused.
    var rate = StreamLimits()
    rate.maxNewStreamsPerSecond = 0.1
    try await XDSHarness.with(limits: rate) { xds in
      _ = xds.cache.set(try Self.snapshot(), for: "a")
      var outcomes: [StreamProbe.Outcome] = []
      for _ in 0..<3 { outcomes.append(await StreamProbe.open(port: xds.port, node: "a")) }
      #expect(outcomes.first == .served)
      #expect(outcomes.dropFirst().contains(.refused(.resourceExhausted, "more than 0.1 new xDS streams per second (--max-new-streams-per-second); retry later")))
    }
  }

  @Test("an unknown node id: listed while it waits, NOT_FOUND naming it after the grace; one that registers in time is served")
  func unknownNode() async throws {
    var limits = StreamLimits()
    limits.unknownNodeGrace = .seconds(3)
    let members = MemberSet()
    try await XDSHarness.with(limits: limits, membership: { members.contains($0) }) { xds in
      async let stranger = StreamProbe.open(port: xds.port, node: "nobody")
      async let late = StreamProbe.open(port: xds.port, node: "late-proxy")
      try await until("both listed as unknown") { xds.status.unknownNodes == ["late-proxy", "nobody"] }
      // late-proxy registers within the grace: it gets its configuration and stays.
      members.insert("late-proxy")
      _ = xds.cache.set(try Self.snapshot(), for: "late-proxy")
      let (strangerOutcome, lateOutcome) = await (stranger, late)
      #expect(lateOutcome == .served)
      guard case .refused(.notFound, let message) = strangerOutcome else {
        Issue.record("expected NOT_FOUND, got \(strangerOutcome)")
        return
      }
      #expect(message.contains("node id nobody is not a proxy in the catalog") && message.contains("connect-proxy"))
      #expect(xds.status.recentRefusals.last?.reason == .unknownNode)
    }
  }

  @Test("above its fair share a replica refuses new streams and ends the excess with RESOURCE_EXHAUSTED")
  func fairShare() async throws {
    #expect(Rebalancer.fairShare(proxies: 4, replicas: 1) == nil)
    #expect(Rebalancer.fairShare(proxies: 4, replicas: 2) == 3)
    #expect(Rebalancer.fairShare(proxies: 100, replicas: 3) == 37)
    #expect(Rebalancer.toShed(open: 4, fairShare: 3) == 1)
    #expect(Rebalancer.toShed(open: 1000, fairShare: 200) == 10, "5% of the share per second")
    #expect(Rebalancer.toShed(open: 3, fairShare: 3) == 0)

    try await XDSHarness.with { xds in
      let nodes = ["a", "b", "c", "d"]
      for node in nodes { _ = xds.cache.set(try Self.snapshot(), for: node) }
      let outcomes = Box<[StreamProbe.Outcome]>([])
      try await withThrowingTaskGroup(of: Void.self) { group in
        for node in nodes {
          group.addTask {
            _ = await StreamProbe.open(port: xds.port, node: node, holdOpen: true) { outcome in outcomes.mutate { $0.append(outcome) } }
          }
        }
        try await until("four streams served") { outcomes.value.count == 4 }
        xds.admission.setFairShare(2)
        #expect(xds.admission.shed(Rebalancer.toShed(open: xds.admission.openStreams, fairShare: 2)) == 1)
        #expect(xds.admission.shed(1) == 1)
        try await until("two streams ended") { outcomes.value.count == 6 }
        let ended = outcomes.value.dropFirst(4)
        #expect(ended.allSatisfy { if case .refused(.resourceExhausted, let message) = $0 { message.hasPrefix("rebalancing:") } else { false } }, "\(ended)")
        try await until("two open") { xds.admission.openStreams == 2 }
        let refused = await StreamProbe.open(port: xds.port, node: "a")
        #expect(refused == .refused(.resourceExhausted, "rebalancing: this replica holds 2 xDS streams, above its fair share of 2; reconnect to another replica"))
        xds.admission.setFairShare(nil)
        #expect(await StreamProbe.open(port: xds.port, node: "a") == .served)
        group.cancelAll()
      }
    }
  }

  @Test("10,000 refused random node ids: the board stays bounded; disconnected proxies are forgotten")
  func boundedBoard() async throws {
    let status = XDSStatusBoard(kindOf: { $0 == "api-sidecar-proxy" ? "connect-proxy" : nil })
    for i in 0..<10_000 { status.refused("random-\(i)", .unauthorized, "unknown token") }
    status.refused("api-sidecar-proxy", .unauthorized, "unknown token")
    #expect(status.count == 1, "only the catalog's proxy has an entry")
    #expect(status.recentRefusals.count == XDSStatusBoard.refusalLimit)
    #expect(status.recentRefusals.last?.node == "api-sidecar-proxy")
    #expect(status.status(of: "api-sidecar-proxy")?.refusedStreams == 1)
    #expect(status.forget(disconnectedBefore: Date()) == 1)
    #expect(status.count == 0)
  }

  @Test("a node's history keeps the newest events, each naming at most 512 bytes of resources")
  func boundedHistory() throws {
    let status = XDSStatusBoard(historyLimit: 3)
    let clusters = (0..<1_000).map {
      EncodedResource(type: .cluster, name: "cluster-\($0).default.dc1.internal.example.consul", bytes: Data([UInt8($0 % 256)]))
    }
    for round in 0..<5 {
      status.sent("gw", PlannedResponse(type: .cluster, nonce: "\(round)", version: "v\(round)", resources: clusters, removed: []))
    }
    let history = try #require(status.status(of: "gw")).history
    #expect(history.map(\.nonce) == ["2", "3", "4"])
    let detail = try #require(history.last?.detail)
    #expect(detail.utf8.count <= XDSStatusBoard.detailLimit + 16)
    #expect(detail.hasPrefix("cluster-0.default.dc1.internal.example.consul,cluster-1."))
    let shown = detail.split(separator: ",").dropLast().count
    #expect(detail.hasSuffix(",(\(1_000 - shown) more)"), "\(detail)")
    #expect(XDSStatusBoard.detail(["a", "b"], count: 2) == "a,b")
    #expect(XDSStatusBoard.detail([], count: 0) == "")
  }
}

final class Counter: Sendable {
  private let box = Box(0)
  var value: Int { box.value }
  func add() { box.mutate { $0 += 1 } }
}

final class MemberSet: Sendable {
  private let box = Box<Set<String>>([])
  func contains(_ node: String) -> Bool? { box.value.contains(node) }
  func insert(_ node: String) { box.mutate { _ = $0.insert(node) } }
}
