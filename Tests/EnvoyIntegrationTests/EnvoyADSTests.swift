import ADSProtocol
import ADSServer
import Foundation
import ResourceCache
import TestSupport
import Testing

/// The ADS server against a real Envoy 1.40, in both protocol variants.
@Suite("ADS with a real Envoy", .serialized)
struct EnvoyADSTests {
  static let node = "sidecar-under-test"

  @Test("serves, updates, survives a NACK without resending, and warms clusters before routes",
    arguments: [XDSVariant.stateOfTheWorld, .delta])
  func lifecycle(variant: XDSVariant) async throws {
    try await XDSHarness.with { xds in
      var config = SampleResources(listenerPort: freePort())
      var shown = VersionModel(variant: variant)
      let v1 = try config.snapshot()
      xds.cache.set(v1, for: Self.node)

      let envoy = try await EnvoyProcess.start(
        name: "ads-\(variant)", bootstrapJSON: try xds.bootstrap(nodeID: Self.node, variant: variant))
      defer { envoy.stop() }

      // 1. Envoy holds exactly what was served, at our versions, and the server saw the ACKs.
      try await expectApplied(v1, shown.applying(v1), by: envoy, xds: xds)

      // 2. An update: a new cluster and a route that points at it.
      config.clusters = ["backend", "backend2"]
      config.routeTarget = "backend2"
      config.marker = "2"
      let v2 = try config.snapshot()
      xds.cache.set(v2, for: Self.node)
      try await expectApplied(v2, shown.applying(v2), by: envoy, xds: xds)
      try expectRouteAfterWarmCluster(xds: xds, route: v2.version(.route), cluster: "backend2")

      // 3. An invalid listener is rejected: Envoy keeps v2, the server records the NACK and
      //    sends nothing more, however long we wait.
      config.lambdaARN = "not-an-arn"
      let bad = try config.snapshot()
      xds.cache.set(bad, for: Self.node)
      let rejection = try await poll("the NACK of the invalid listener") {
        xds.status.typeStatus(of: Self.node, .listener).rejection
      }
      #expect(rejection.message.contains("Invalid ARN"), "\(rejection.message)")
      #expect(rejection.version == bad.version(.listener))
      let sentAfterNACK = totalSent(xds)
      try await Task.sleep(for: .seconds(3))
      #expect(totalSent(xds) == sentAfterNACK, "a NACK must not start a resend loop")
      let held = try await envoy.configView()
      #expect(held.listeners == shown.versions(.listener), "Envoy must keep the last good listener")

      // 4. Only newer content is sent; Envoy takes it.
      config.lambdaARN = "arn:aws:lambda:us-east-1:123456789012:function:ok"
      config.marker = "3"
      let v3 = try config.snapshot()
      xds.cache.set(v3, for: Self.node)
      try await expectApplied(v3, shown.applying(v3), by: envoy, xds: xds)
      #expect(xds.status.typeStatus(of: Self.node, .listener).rejection == nil)
    }
  }

  @Test("after a server restart, a delta Envoy declares what it holds and is sent nothing again")
  func deltaReconnect() async throws {
    let snapshot = try SampleResources(listenerPort: freePort()).snapshot()
    let port = freePort()
    let envoy = try await EnvoyProcess.start(
      name: "delta-reconnect",
      bootstrapJSON: try XDSHarness.bootstrap(nodeID: Self.node, variant: .delta, port: port))
    defer { envoy.stop() }
    var shown = VersionModel(variant: .delta)
    let expected = shown.applying(snapshot)

    try await XDSHarness.with(port: port) { xds in
      xds.cache.set(snapshot, for: Self.node)
      try await expectApplied(snapshot, expected, by: envoy, xds: xds)
    }
    // A new server process: no memory of the stream, same content.
    try await XDSHarness.with(port: port) { xds in
      xds.cache.set(snapshot, for: Self.node)
      try await eventually("Envoy to reconnect and settle", timeout: 40) {
        [ResourceType.cluster, .listener].allSatisfy {
          xds.status.typeStatus(of: Self.node, $0).ackedVersion == snapshot.version($0)
        }
      }
      let sent = try #require(xds.status.status(of: Self.node)).history.filter { $0.kind == .sent }
      #expect(!sent.isEmpty)
      for event in sent {
        #expect(event.detail == "", "resent \(event.type ?? "") \(event.detail ?? "") that Envoy held")
      }
      let view = try await envoy.configView()
      #expect(view.clusters == expected.versions(.cluster))
      #expect(view.listeners == expected.versions(.listener))
    }
  }

  // MARK: - Helpers

  func expectApplied(
    _ snapshot: Snapshot, _ shown: VersionModel, by envoy: EnvoyProcess, xds: XDSHarness
  ) async throws {
    let want = shown.versions
    do {
      try await eventually("Envoy to apply the snapshot") {
        let view = try await envoy.configView()
        return view.clusters == want(.cluster) && view.listeners == want(.listener)
          && view.routes == want(.route)
          // Envoy leaves version_info empty for endpoints in its dump; the server's ACK record
          // below checks their version.
          && Set(view.endpoints.keys) == Set(snapshot.resources(.endpoint).keys)
          && view.warmingClusters.isEmpty && view.warmingListeners.isEmpty
      }
      try await eventually("the server to see every type ACKed") {
        [ResourceType.cluster, .endpoint, .listener, .route].allSatisfy {
          xds.status.typeStatus(of: Self.node, $0).ackedVersion == snapshot.version($0)
        }
      }
    } catch {
      let view = try? await envoy.configView()
      Issue.record(
        """
        \(error)
        wanted: CDS \(want(.cluster)) LDS \(want(.listener)) RDS \(want(.route))
        Envoy holds: \(String(describing: view))
        server status: \(String(describing: xds.status.status(of: Self.node)?.types))
        Envoy log: \(envoy.log)
        """)
      throw error
    }
  }

  /// The route that targets `cluster` went out only after Envoy ACKed the cluster's endpoints.
  func expectRouteAfterWarmCluster(xds: XDSHarness, route version: String, cluster: String) throws {
    let history = try #require(xds.status.status(of: Self.node)).history
    let routeSent = try #require(
      history.firstIndex { $0.kind == .sent && $0.type == "RDS" && $0.version == version })
    let endpointsSent = try #require(
      history.firstIndex {
        $0.kind == .sent && $0.type == "EDS" && ($0.detail ?? "").split(separator: ",").contains(Substring(cluster))
      })
    let endpointsAcked = try #require(
      history[endpointsSent...].firstIndex { $0.kind == .acknowledged && $0.type == "EDS" })
    #expect(endpointsAcked < routeSent, "RDS was pushed before the EDS of \(cluster) was ACKed")
  }

  /// The version_info Envoy shows per resource. Delta: the resource's own version. State of the
  /// world: the type version of the response in which that resource last changed (Envoy skips
  /// unchanged resources in a complete set and keeps their earlier version_info).
  struct VersionModel {
    let variant: XDSVariant
    private var shown: [ResourceKey: String] = [:]
    private var content: [ResourceKey: String] = [:]

    init(variant: XDSVariant) { self.variant = variant }

    mutating func applying(_ snapshot: Snapshot) -> Self {
      var next = VersionModel(variant: variant)
      for type in ResourceType.allCases {
        for (name, resource) in snapshot.resources(type) {
          let key = ResourceKey(type, name)
          next.content[key] = resource.version
          next.shown[key] =
            variant == .delta ? resource.version
            : content[key] == resource.version ? shown[key] : snapshot.version(type)
        }
      }
      self = next
      return next
    }

    func versions(_ type: ResourceType) -> [String: String] {
      Dictionary(uniqueKeysWithValues: shown.filter { $0.key.type == type }.map { ($0.key.name, $0.value) })
    }
  }

  func totalSent(_ xds: XDSHarness) -> Int {
    ResourceType.allCases.reduce(0) { $0 + xds.status.typeStatus(of: Self.node, $1).responsesSent }
  }
}
