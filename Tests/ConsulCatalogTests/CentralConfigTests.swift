import ConsulCatalog
import Foundation
import Testing

/// How a proxy's settings are resolved from its registration and central config, and how
/// intentions decide, the way Consul does.
@Suite("Central config and intentions")
struct CentralConfigTests {
  func catalog(registrations: String, entries: String) throws -> CatalogSnapshot {
    try CatalogFile.snapshot(
      data: Data(#"{"registrations": \#(registrations), "config_entries": \#(entries)}"#.utf8), name: "inline")
  }

  static let sidecar = #"""
    [{"Node": "n", "Address": "10.0.0.1", "Service": {"Kind": "connect-proxy", "ID": "api-sidecar-proxy",
      "Service": "api-sidecar-proxy", "Port": 21000, "Proxy": {"DestinationServiceName": "api", "LocalServicePort": "8080",
      "Config": {"local_connect_timeout_ms": 1000},
      "Upstreams": [{"DestinationName": "db", "LocalBindPort": 9191, "Config": {"connect_timeout_ms": 250}}]}}}]
    """#

  @Test("registration over service-defaults over proxy-defaults; protocol from the destination's service-defaults")
  func precedence() throws {
    let catalog = try catalog(
      registrations: Self.sidecar,
      entries: #"""
        [{"Kind": "proxy-defaults", "Name": "global", "Mode": "transparent",
          "Config": {"protocol": "http2", "local_connect_timeout_ms": 9000, "local_request_timeout_ms": 7000},
          "TransparentProxy": {"OutboundListenerPort": 15100}},
         {"Kind": "service-defaults", "Name": "api", "Protocol": "HTTP", "LocalRequestTimeoutMs": 3000,
          "UpstreamConfig": {"Defaults": {"ConnectTimeoutMs": 4000, "Limits": {"MaxConnections": 5}},
                             "Overrides": [{"Name": "db", "Protocol": "tcp"}]}},
         {"Kind": "service-defaults", "Name": "db", "Protocol": "grpc"}]
        """#)
    #expect(catalog.rejectedObjects.isEmpty, "\(catalog.rejectedObjects)")
    let proxy = try #require(catalog.instances["api-sidecar-proxy"]?.proxy)
    #expect(proxy.localServicePort == 8080, "a number in a string, read weakly as Consul does")
    let resolved = catalog.resolved(proxy)
    #expect(resolved.protocol == "http", "service-defaults beats proxy-defaults")
    #expect(resolved.mode == .transparent && resolved.outboundListenerPort == 15100)
    let inbound = InboundSettings(resolved.config)
    #expect(inbound.localConnectTimeoutMilliseconds == 1000, "the registration's own Config wins")
    #expect(inbound.localRequestTimeoutMilliseconds == 3000, "service-defaults over proxy-defaults")

    let upstream = UpstreamSettings(catalog.resolvedConfig(of: proxy.upstreams[0], caller: "api"))
    #expect(upstream.connectTimeoutMilliseconds == 250, "the upstream's own Config wins")
    #expect(upstream.protocol == "tcp", "the override beats the destination's grpc")
    #expect(upstream.limits?.maxConnections == 5, "defaults fill what is left")
    #expect(catalog.serviceProtocol("db") == "grpc" && catalog.serviceProtocol("nobody") == "http2")
  }

  @Test("a `*` destination judges only what the service's own entry leaves open")
  func wildcardDestination() throws {
    let catalog = try catalog(
      registrations: "[]",
      entries: #"""
        [{"Kind": "service-intentions", "Name": "*", "Sources": [{"Name": "web", "Action": "deny"}, {"Name": "*", "Action": "allow"}]},
         {"Kind": "service-intentions", "Name": "api", "Sources": [{"Name": "reports", "Action": "deny"}]},
         {"Kind": "service-intentions", "Name": "db", "Sources": [{"Name": "*", "Action": "deny"}, {"Name": "web", "Action": "allow"}]},
         {"Kind": "service-intentions", "Name": "cache", "Sources": [{"Name": "ops", "Permissions": [{"Action": "allow", "HTTP": {"PathPrefix": "/stats"}}]}]}]
        """#)
    #expect(catalog.effectiveIntentions(for: "api")?.sources.map(\.name) == ["*", "reports", "web"])
    #expect(!catalog.intentionAllows(source: "web", destination: "api", defaultAllow: false), "from the * entry")
    #expect(!catalog.intentionAllows(source: "reports", destination: "api", defaultAllow: true), "the service's own deny")
    #expect(catalog.intentionAllows(source: "other", destination: "api", defaultAllow: false), "the * entry's * allow")
    #expect(catalog.effectiveIntentions(for: "db")?.sources.map(\.name) == ["*", "web"], "db's own * shadows the * entry")
    #expect(catalog.intentionAllows(source: "web", destination: "db", defaultAllow: false))
    #expect(!catalog.intentionAllows(source: "other", destination: "db", defaultAllow: true))
    #expect(catalog.intentionAllows(source: "ops", destination: "cache", defaultAllow: false), "an L7 intention may allow")
  }

  @Test("Consul's health: any critical check is critical, else any warning warns; Weights and tagged addresses")
  func health() throws {
    let catalog = try catalog(
      registrations: #"""
        [{"Node": "n", "Service": {"ID": "a", "Service": "s", "Weights": {"Passing": "4", "Warning": 2},
           "TaggedAddresses": {"consul-virtual": {"Address": "240.0.0.9", "Port": 0}, "lan": {"Address": "10.1.1.1", "Port": 80}, "bad": 7}},
          "Checks": [{"CheckID": "x", "Status": "warning"}, {"CheckID": "y", "Status": "passing"}]},
         {"Node": "n", "Service": {"ID": "b", "Service": "s"}, "Checks": [{"CheckID": "x", "Status": "warning"}, {"CheckID": "y", "Status": "critical"}]},
         {"Node": "n", "Service": {"ID": "c", "Service": "s", "Connect": {"Native": true}}}]
        """#, entries: "[]")
    #expect(catalog.instances["a"]?.health == .warning && catalog.instances["a"]?.healthy == true)
    #expect(catalog.instances["a"]?.weights == .init(passing: 4, warning: 2))
    #expect(catalog.instances["a"]?.virtualIPs == ["240.0.0.9"])
    #expect(catalog.instances["a"]?.taggedAddresses["lan"] == TaggedAddress(address: "10.1.1.1", port: 80))
    #expect(catalog.instances["b"]?.health == .critical && catalog.instances["b"]?.healthy == false)
    #expect(catalog.instances["c"]?.health == .passing)
    #expect(catalog.connectEndpointsByService["s"]?.map(\.id) == ["c"], "only the native instance is a mesh endpoint")
  }

  @Test("Go durations, as Consul's config decoder reads them")
  func durations() {
    #expect(Duration(goDuration: "10s") == .seconds(10))
    #expect(Duration(goDuration: "1m30s") == .seconds(90))
    #expect(Duration(goDuration: "1.5h") == .seconds(5400))
    #expect(Duration(goDuration: "250ms") == .milliseconds(250))
    #expect(Duration(goDuration: "0") == .zero)
    for bad in ["", "10", "s", "10 s", "1d", "often"] { #expect(Duration(goDuration: bad) == nil, "\(bad)") }
  }
}
