import ConsulCatalog
import Foundation
import Testing

/// Names longer than Envoy can use are refused where they are read, so no later step ever
/// handles them (a 250 KB name once took 17 s through the dev CA's PEM encoding).
@Suite("Catalog limits")
struct CatalogLimitsTests {
  static let long = String(repeating: "a", count: 250_000)

  @Test("a registration or config entry with a huge name is refused with a reason; the rest stays")
  func hugeNames() throws {
    let json = #"""
      {"registrations": [
        {"Node": "n", "Service": {"Service": "\#(Self.long)"}},
        {"Node": "n", "Service": {"Kind": "connect-proxy", "Service": "p", "Port": 21000,
          "Proxy": {"DestinationServiceName": "\#(Self.long)", "LocalServicePort": 8080}}},
        {"Node": "n", "Service": {"Kind": "connect-proxy", "Service": "q", "Port": 21001,
          "Proxy": {"DestinationServiceName": "q", "LocalServicePort": 8080,
                    "Upstreams": [{"DestinationName": "\#(Self.long)", "LocalBindPort": 9000}, {"DestinationName": "db", "LocalBindPort": 9001}]}}},
        {"Node": "n", "Service": {"Service": "fine"}}],
       "config_entries": [
        {"Kind": "service-defaults", "Name": "\#(Self.long)"},
        {"Kind": "service-intentions", "Name": "fine", "Sources": [{"Name": "\#(Self.long)", "Action": "allow"}, {"Name": "web", "Action": "allow"}]}]}
      """#
    let catalog = try CatalogFile.snapshot(data: Data(json.utf8), name: "inline")
    #expect(catalog.rejectedObjects.count == 3, "\(catalog.rejectedObjects.map { $0.prefix(120) })")
    #expect(catalog.rejectedObjects.allSatisfy { $0.contains("250000 bytes long; at most 255") })
    #expect(catalog.instances.keys.sorted() == ["fine", "q"])
    let upstreams = try #require(catalog.instances["q"]?.proxy)
    #expect(upstreams.upstreams.map(\.destinationName) == ["db"] && upstreams.problems.count == 1)
    #expect(catalog.intentions["fine"]?.sources.map(\.name) == ["web"] && catalog.intentions["fine"]?.warnings.count == 1)
  }

  @Test("a catalog file's datacenter or trust domain must fit too")
  func hugeDatacenter() {
    #expect(throws: CatalogError.self) {
      try CatalogFile.snapshot(data: Data(#"{"datacenter": "\#(Self.long)"}"#.utf8), name: "inline")
    }
    #expect(throws: CatalogError.self) {
      try CatalogFile.snapshot(data: Data(#"{"trust_domain": "\#(Self.long)"}"#.utf8), name: "inline")
    }
  }
}
