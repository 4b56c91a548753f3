import EnvoyAPI
import Foundation
import ResourceCache
import SwiftProtobuf
import Testing

@Suite("Encoded resources")
struct EncodedResourceTests {
  func cluster(_ name: String, metadata: [String: Bool]) -> Envoy_Config_Cluster_V3_Cluster {
    .with {
      $0.name = name
      $0.type = .eds
      for (key, value) in metadata {
        $0.metadata.filterMetadata[key] = .with { $0.fields["v"] = .init(booleanLiteral: value) }
      }
    }
  }

  @Test("the version is a content hash of a deterministic encoding, whatever the map order")
  func deterministicVersion() throws {
    var keys = (0..<50).map { "key-\($0)" }
    let forward = try EncodedResource(cluster("c", metadata: Dictionary(uniqueKeysWithValues: keys.map { ($0, true) })))
    keys.reverse()
    let backward = try EncodedResource(cluster("c", metadata: Dictionary(uniqueKeysWithValues: keys.map { ($0, true) })))
    #expect(forward.bytes == backward.bytes)
    #expect(forward.version == backward.version)
    let changed = try EncodedResource(cluster("c", metadata: ["key-0": false]))
    #expect(changed.version != forward.version)
    #expect(forward.version.count == 32)
  }

  @Test("references: EDS service name, RDS route name, SDS secrets")
  func references() throws {
    var named = cluster("c", metadata: [:])
    named.edsClusterConfig.serviceName = "svc"
    #expect(try EncodedResource(named).references == [ResourceKey(.endpoint, "svc")])
    #expect(try EncodedResource(cluster("c", metadata: [:])).references == [ResourceKey(.endpoint, "c")])

    var tls = Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext()
    tls.commonTlsContext.tlsCertificateSdsSecretConfigs = [.with { $0.name = "leaf" }]
    tls.commonTlsContext.combinedValidationContext.validationContextSdsSecretConfig.name = "roots"
    var secured = cluster("s", metadata: [:])
    secured.transportSocket.name = "envoy.transport_sockets.tls"
    secured.transportSocket.typedConfig = try .packing(tls)
    #expect(
      try EncodedResource(secured).references == [
        ResourceKey(.endpoint, "s"), ResourceKey(.secret, "leaf"), ResourceKey(.secret, "roots"),
      ])

    let manager = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager.with {
      $0.rds.routeConfigName = "routes"
    }
    let filter = try Envoy_Config_Listener_V3_Filter.with { $0.typedConfig = try .packing(manager) }
    let listener = Envoy_Config_Listener_V3_Listener.with {
      $0.name = "l"
      $0.filterChains = [.with { $0.filters = [filter] }]
    }
    #expect(try EncodedResource(listener).references == [ResourceKey(.route, "routes")])

    // Read from the encoded bytes: other fields around them, an inline route (no reference),
    // and a downstream context's own validation secret.
    let inline = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager.with {
      $0.statPrefix = "inline"
      $0.routeConfig.name = "not-a-reference"
    }
    var downstream = Envoy_Extensions_TransportSockets_Tls_V3_DownstreamTlsContext()
    downstream.requireClientCertificate = .init(true)
    downstream.commonTlsContext.alpnProtocols = ["h2"]
    downstream.commonTlsContext.tlsCertificateSdsSecretConfigs = [.with { $0.name = "a" }, .with { $0.name = "b" }]
    downstream.commonTlsContext.validationContextSdsSecretConfig.name = "ca"
    let both = try Envoy_Config_Listener_V3_Listener.with {
      $0.name = "both"
      $0.filterChains = [
        try .with {
          $0.filters = [try .with { $0.typedConfig = try .packing(inline) }, filter]
          $0.transportSocket.name = "envoy.transport_sockets.tls"
          $0.transportSocket.typedConfig = try .packing(downstream)
        },
      ]
    }
    #expect(
      try EncodedResource(both).references == [
        ResourceKey(.route, "routes"), ResourceKey(.secret, "a"), ResourceKey(.secret, "b"), ResourceKey(.secret, "ca"),
      ])
  }

  @Test("a resource placed in many snapshots shares one buffer, also inside responses")
  func sharedBytes() throws {
    var static_ = cluster("shared", metadata: ["a": true])
    static_.type = .static
    let resource = try EncodedResource(static_)
    let snapshots = try (0..<100).map { _ in try Snapshot([resource]) }
    func address(_ data: Data) -> UnsafeRawPointer? { data.withUnsafeBytes { $0.baseAddress } }
    let original = address(resource.bytes)
    for snapshot in snapshots {
      let held = try #require(snapshot[ResourceKey(.cluster, "shared")])
      #expect(address(held.bytes) == original)
      #expect(address(held.any.value) == original)
    }
  }
}

@Suite("Snapshots and the cache")
struct SnapshotCacheTests {
  func raw(_ type: ResourceType, _ name: String, _ content: String, refs: [ResourceKey] = [])
    -> EncodedResource
  {
    EncodedResource(type: type, name: name, bytes: Data(content.utf8), references: Set(refs))
  }

  @Test("a snapshot refuses duplicate names and dangling references")
  func consistency() {
    #expect(throws: SnapshotError.self) {
      try Snapshot([raw(.cluster, "a", "1"), raw(.cluster, "a", "2")])
    }
    let error = #expect(throws: SnapshotError.self) {
      try Snapshot([raw(.cluster, "a", "1", refs: [ResourceKey(.endpoint, "a")])])
    }
    #expect(error?.code == .missingReference)
    #expect(error?.message.contains("EDS/a") == true)
  }

  @Test("type versions change only with content")
  func typeVersions() throws {
    let one = try Snapshot([raw(.cluster, "a", "1"), raw(.route, "r", "1")])
    let same = try Snapshot([raw(.route, "r", "1"), raw(.cluster, "a", "1")])
    let other = try Snapshot([raw(.cluster, "a", "2"), raw(.route, "r", "1")])
    #expect(one == same)
    #expect(one.version(.route) == other.version(.route))
    #expect(one.version(.cluster) != other.version(.cluster))
  }

  @Test("a snapshot built reusing the last one equals one built afresh, and keeps unchanged types' tables")
  func reusingPrevious() throws {
    let resources = [raw(.cluster, "a", "1"), raw(.cluster, "b", "1"), raw(.route, "r", "1")]
    func keyed(_ list: [EncodedResource]) -> [ResourceKey: EncodedResource] {
      Dictionary(uniqueKeysWithValues: list.map { (ResourceKey($0.type, $0.name), $0) })
    }
    let first = try Snapshot(keyed(resources), reusing: nil)
    for edited in [
      [raw(.cluster, "a", "1"), raw(.cluster, "b", "1"), raw(.route, "r", "2")],
      [raw(.cluster, "a", "1"), raw(.route, "r", "1")],
      [raw(.cluster, "a", "1"), raw(.cluster, "c", "1"), raw(.route, "r", "1")],
      [raw(.cluster, "a", "2"), raw(.cluster, "b", "1"), raw(.route, "r", "1"), raw(.listener, "l", "1")],
      resources,
    ] {
      let reused = try Snapshot(keyed(edited), reusing: first)
      let fresh = try Snapshot(edited)
      for type in ResourceType.allCases {
        #expect(reused.version(type) == fresh.version(type), "\(type) of \(edited)")
        #expect(reused.resources(type) == fresh.resources(type))
      }
    }
    #expect(throws: SnapshotError.self) { try Snapshot(keyed([raw(.listener, "l", "1", refs: [ResourceKey(.route, "x")])]), reusing: first) }

    // A kept table's references into one built anew are checked again.
    let wired = [raw(.cluster, "c", "1", refs: [ResourceKey(.endpoint, "c")]), raw(.endpoint, "c", "1")]
    let whole = try Snapshot(keyed(wired), reusing: nil)
    let error = #expect(throws: SnapshotError.self) { try Snapshot(keyed([wired[0]]), reusing: whole) }
    #expect(error?.code == .missingReference)
    #expect(try Snapshot(keyed([wired[0], raw(.endpoint, "c", "2")]), reusing: whole).version(.cluster) == whole.version(.cluster))
  }

  @Test("setting an identical snapshot notifies nobody; a new one reaches every watcher")
  func identicalSnapshotPushesNothing() async throws {
    let cache = SnapshotCache()
    let first = try Snapshot([raw(.cluster, "a", "1")])
    #expect(cache.set(first, for: "n"))
    let updates = cache.updates(for: "n")
    var iterator = updates.makeAsyncIterator()
    #expect(await iterator.next() == first, "a new watcher gets the current snapshot")
    #expect(!cache.set(try Snapshot([raw(.cluster, "a", "1")]), for: "n"))
    let second = try Snapshot([raw(.cluster, "a", "2")])
    #expect(cache.set(second, for: "n"))
    #expect(await iterator.next() == second, "the identical set was not delivered in between")
    #expect(cache.watcherCount == 1)
    #expect(cache.replacementCount == 2, "the identical set replaced nothing")
  }

  @Test("a slow watcher gets only the newest snapshot")
  func latestWins() async throws {
    let cache = SnapshotCache()
    let updates = cache.updates(for: "n")
    for index in 0..<10 { cache.set(try Snapshot([raw(.cluster, "a", "\(index)")]), for: "n") }
    var iterator = updates.makeAsyncIterator()
    #expect(await iterator.next() == (try Snapshot([raw(.cluster, "a", "9")])))
  }
}
