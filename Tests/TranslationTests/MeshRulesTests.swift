import ConsulCatalog
import EnvoyAPI
import Foundation
import ResourceCache
import SwiftProtobuf
import Testing
import Translation

typealias ClusterLoadAssignment = Envoy_Config_Endpoint_V3_ClusterLoadAssignment

/// The sidecar's mesh rules, one by one (the mesh-* golden files show the whole output).
@Suite("Mesh sidecar rules")
struct MeshRulesTests {
  static let trustDomain = TranslationRulesTests.trustDomain
  static func sni(_ service: String) -> String { TranslationRulesTests.sni(service) }

  func catalog(_ name: String) throws -> CatalogSnapshot {
    try CatalogFile.snapshot(contentsOf: GoldenCase.fixture(name).catalog.path)
  }

  func translate(_ catalog: CatalogSnapshot, _ options: TranslationOptions = GoldenCase.fixture("direct").options) -> CatalogTranslation {
    Translator(options: options).translate(catalog, certificates: GoldenCase.certificates)
  }

  @Test("inbound HTTP: RBAC, identity metadata and router; the caller's certificate forwarded; mesh can sanitize it")
  func inboundHTTP() throws {
    var catalog = try catalog("mesh-inbound")
    let api = try #require(translate(catalog).proxies["api-sidecar-proxy"]?.snapshot)
    let listener = try api.listener("public_listener:10.0.1.10:21000")
    let manager = try listener.connectionManager()
    #expect(manager.httpFilters.map(\.name) == [
      "envoy.filters.http.rbac", "envoy.filters.http.header_to_metadata", "envoy.filters.http.router",
    ])
    #expect(manager.forwardClientCertDetails == .appendForward && manager.setCurrentClientCertDetails.uri)
    #expect(manager.rds.routeConfigName == "public_listener")
    let tls = try DownstreamTLS(unpackingAny: listener.filterChains[0].transportSocket.typedConfig)
    #expect(tls.requireClientCertificate.value && tls.commonTlsContext.alpnProtocols == ["http/1.1"])

    catalog.mesh.sanitizeXForwardedClientCert = true
    let sanitized = try #require(translate(catalog).proxies["api-sidecar-proxy"]?.snapshot)
    let plain = try sanitized.listener("public_listener:10.0.1.10:21000").connectionManager()
    #expect(plain.httpFilters.map(\.name) == ["envoy.filters.http.rbac", "envoy.filters.http.router"])
    #expect(plain.forwardClientCertDetails == .sanitize && !plain.hasSetCurrentClientCertDetails)
  }

  @Test("inbound intentions ride on the route; the listener's own RBAC denies everyone")
  func inboundIntentionsOnTheRoute() throws {
    let api = try #require(translate(try catalog("mesh-inbound")).proxies["api-sidecar-proxy"]?.snapshot)
    let listenerRBAC = try Envoy_Extensions_Filters_Http_Rbac_V3_RBAC(
      unpackingAny: try api.listener("public_listener:10.0.1.10:21000").connectionManager().httpFilters[0].typedConfig)
    #expect(listenerRBAC.rules.action == .allow && listenerRBAC.rules.policies.isEmpty, "deny all at the listener")
    let route = try Envoy_Config_Route_V3_RouteConfiguration(
      serializedBytes: try #require(api[ResourceKey(.route, "public_listener")]).bytes).virtualHosts[0].routes[0]
    #expect(route.route.cluster == "local_app")
    #expect(route.route.timeout.seconds == 2 && route.route.timeout.nanos == 345_000_000)
    let rules = try Envoy_Extensions_Filters_Http_Rbac_V3_RBACPerRoute(
      unpackingAny: try #require(route.typedPerFilterConfig["envoy.filters.http.rbac"])).rbac.rules
    // Default allow: the deny set. `*` deny excludes the named web and reports; audit comes from the `*` entry.
    #expect(rules.action == .deny)
    #expect(Set(rules.policies.keys) == ["consul-intentions-layer4"])
    let regexes = try JSONSerialization.jsonObject(with: Data(try rules.jsonString().utf8)) as? [String: Any]
    #expect("\(regexes ?? [:])".contains("svc/web") && "\(regexes ?? [:])".contains("svc/reports"))
  }

  @Test("TCP inbound: network RBAC first; an L7 intention cannot be checked there and counts as a deny")
  func inboundTCP() throws {
    let db = try #require(translate(try catalog("mesh-inbound")).proxies["db-sidecar-proxy"]?.snapshot)
    let chain = try db.listener("public_listener:10.0.1.11:21000").filterChains[0]
    #expect(chain.filters.map(\.name) == ["envoy.filters.network.rbac", "envoy.filters.network.tcp_proxy"])
    let rbac = try Envoy_Extensions_Filters_Network_Rbac_V3_RBAC(unpackingAny: chain.filters[0].typedConfig)
    #expect(rbac.statPrefix == "connect_authz" && rbac.rules.action == .deny)
    let principals = try #require(rbac.rules.policies["consul-intentions-layer4"]).principals
      .map(\.authenticated.principalName.safeRegex.regex)
    #expect(principals.contains { $0.hasSuffix("/svc/reports$") }, "reports' L7 allow is a deny on TCP")
    #expect(principals.contains { $0.hasSuffix("/svc/web$") } && principals.contains { $0.hasSuffix("/svc/audit$") })
    #expect(!principals.contains { $0.hasSuffix("/svc/api$") }, "allows equal the default and are dropped")
  }

  @Test("gRPC inbound: gRPC filters first, no client certificate forwarded, HTTP/2 to the app")
  func inboundGRPC() throws {
    let ledger = try #require(translate(try catalog("mesh-inbound")).proxies["ledger-sidecar-proxy"]?.snapshot)
    let manager = try ledger.listener("public_listener:10.0.1.13:21000").connectionManager()
    #expect(manager.httpFilters.map(\.name) == [
      "envoy.filters.http.grpc_stats", "envoy.filters.http.grpc_http1_bridge", "envoy.filters.http.rbac", "envoy.filters.http.router",
    ])
    #expect(manager.forwardClientCertDetails == .sanitize && manager.hasHTTP2ProtocolOptions)
    let app = try ledger.cluster("local_app")
    #expect(app.connectTimeout.nanos == 234_000_000 && app.typedExtensionProtocolOptions.count == 1)
    #expect(app.loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.address == "127.0.0.5")
  }

  @Test("endpoints: every instance with Consul's health and weight; panic routing off")
  func endpoints() throws {
    let web = try #require(translate(try catalog("mesh-upstreams")).proxies["web-sidecar-proxy"]?.snapshot)
    let assignment = try ClusterLoadAssignment(serializedBytes: try #require(web[ResourceKey(.endpoint, Self.sni("db"))]).bytes)
    let endpoints = assignment.endpoints[0].lbEndpoints
    #expect(endpoints.map(\.healthStatus) == [.healthy, .healthy, .unhealthy])
    #expect(endpoints.map(\.loadBalancingWeight.value) == [10, 3, 1], "passing weight, warning weight, default")
    let cluster = try web.cluster(Self.sni("db"))
    #expect(cluster.commonLbConfig.hasHealthyPanicThreshold && cluster.commonLbConfig.healthyPanicThreshold.value == 0)
    let native = try ClusterLoadAssignment(serializedBytes: try #require(web[ResourceKey(.endpoint, Self.sni("search"))]).bytes)
    #expect(native.endpoints[0].lbEndpoints.map(\.endpoint.address.socketAddress.portValue) == [8443], "a Connect-native instance")
  }

  @Test("a weight below 1 makes the endpoint unhealthy with weight 1; weights above 128 are clamped")
  func weights() throws {
    var catalog = try catalog("mesh-upstreams")
    for (id, weights) in [("db-1-sidecar-proxy", 0), ("db-2-sidecar-proxy", 500)] {
      var instance = try #require(catalog.instances[id])
      instance.weights = .init(passing: weights, warning: weights)
      catalog.upsert(instance)
    }
    let web = try #require(translate(catalog).proxies["web-sidecar-proxy"]?.snapshot)
    let endpoints = try ClusterLoadAssignment(serializedBytes: try #require(web[ResourceKey(.endpoint, Self.sni("db"))]).bytes)
      .endpoints[0].lbEndpoints
    #expect(endpoints[0].healthStatus == .unhealthy && endpoints[0].loadBalancingWeight.value == 1)
    #expect(endpoints[1].healthStatus == .healthy && endpoints[1].loadBalancingWeight.value == 128)
  }

  @Test("transparent proxy: default deny reaches only what intentions allow; mesh-only drops the passthrough")
  func transparent() throws {
    var catalog = try catalog("mesh-tproxy")
    var options = GoldenCase.fixture("direct").options
    options.defaultIntentionPolicy = .deny
    func chains(_ translation: CatalogTranslation) throws -> (services: [String], passthrough: Bool, snapshot: Snapshot) {
      let web = try #require(translation.proxies["web-sidecar-proxy"]?.snapshot)
      let listener = try web.listener("outbound_listener:127.0.0.1:15001")
      let prefixes = listener.filterChains.map { chain in
        try? Envoy_Extensions_Filters_Network_TcpProxy_V3_TcpProxy(unpackingAny: chain.filters[0].typedConfig).statPrefix
      }
      let managers = listener.filterChains.map { chain in
        try? HCM(unpackingAny: chain.filters[0].typedConfig).statPrefix
      }
      let names = zip(prefixes, managers).compactMap { $0 ?? $1 }.map { $0.split(separator: ".")[1] }.map(String.init)
      return (names, listener.hasDefaultFilterChain, web)
    }
    let allowed = try chains(translate(catalog, options))
    #expect(Set(allowed.services) == ["api", "kafka", "payments"], "intended only; db has an explicit listener")
    #expect(allowed.passthrough)
    #expect(allowed.snapshot[ResourceKey(.cluster, "original-destination")] != nil)

    catalog.mesh.meshDestinationsOnly = true
    let meshOnly = try chains(translate(catalog, options))
    #expect(!meshOnly.passthrough && meshOnly.snapshot[ResourceKey(.cluster, "original-destination")] == nil)
  }

  @Test("every name and stat prefix is Consul's")
  func names() throws {
    let translation = translate(try catalog("mesh-upstreams"))
    let web = try #require(translation.proxies["web-sidecar-proxy"]?.snapshot)
    #expect(Set(web.resources(.listener).keys) == [
      "public_listener:10.0.0.5:21000", "db:127.0.0.1:9191", "api:127.0.0.1:9192", "search:127.0.0.1:9193",
      "ledger:127.0.0.1:9194", "cache:127.0.0.1:9195", "ghost:127.0.0.1:9196", "authentication:127.0.0.1:9197",
    ])
    #expect(Set(web.resources(.route).keys) == ["api", "search", "ledger", "cache"], "web itself is tcp: no inbound route")
    let db = try web.listener("db:127.0.0.1:9191").filterChains[0].filters[0]
    let proxy = try Envoy_Extensions_Filters_Network_TcpProxy_V3_TcpProxy(unpackingAny: db.typedConfig)
    #expect(proxy.statPrefix == "upstream.db.default.default.dc1" && proxy.cluster == Self.sni("db"))
    let cluster = try web.cluster(Self.sni("db"))
    #expect(cluster.altStatName == cluster.name)
    let tls = try UpstreamTLS(unpackingAny: cluster.transportSocket.typedConfig)
    #expect(tls.sni == Self.sni("db"))
    #expect(tls.commonTlsContext.combinedValidationContext.defaultValidationContext.matchTypedSubjectAltNames.map(\.matcher.exact)
      == ["spiffe://\(Self.trustDomain)/ns/default/dc/dc1/svc/db"])
    let expose = try #require(translate(try catalog("mesh-expose")).proxies["api-sidecar-proxy"]?.snapshot)
    #expect(Set(expose.resources(.listener).keys) == [
      "public_listener:10.0.1.10:21000", "exposed_path_health:10.0.1.10:21500", "exposed_path_metrics:10.0.1.10:21501",
      "exposed_path_ready:10.0.1.10:21502", "exposed_path_grpchealthv1HealthCheck:10.0.1.10:21503",
    ])
    #expect(expose[ResourceKey(.cluster, "exposed_cluster_9102")] != nil && expose[ResourceKey(.cluster, "exposed_cluster_8081")] != nil)
  }

  @Test("bad registrations cost only what depends on them")
  func badInput() throws {
    let translation = translate(try catalog("mesh-bad-input"))
    let api = try #require(translation.proxies["api-sidecar-proxy"])
    let listeners = try #require(api.snapshot).resources(.listener).keys.sorted()
    #expect(listeners == ["db:127.0.0.1:9191", "ghost:127.0.0.1:9192"], "no Port: no inbound; the other upstreams stay")
    #expect(api.findings.contains { $0.severity == .error && $0.message.contains("no Port") })
    #expect(api.findings.contains { $0.message.contains("LocalServicePort \"eighty\"") })
    #expect(api.findings.contains { $0.service == "cache" && $0.message.contains("already used by upstream db") })
    #expect(api.findings.contains { $0.service == "ghost" && $0.message.contains("no instance") })
    #expect(try #require(translation.proxies["web-sidecar-proxy"]).findings.isEmpty, "other proxies are untouched")
  }

  @Test("a destination whose TLS server name would exceed 255 bytes is left out with a finding, not a NACK")
  func longServerName() throws {
    var catalog = try catalog("mesh-upstreams")
    let long = String(repeating: "d", count: 230)
    var proxy = try #require(catalog.instances["web-sidecar-proxy"])
    proxy.proxy?.upstreams.append(Upstream(destinationName: long, localBindPort: 9300))
    catalog.upsert(proxy)
    let web = try #require(translate(catalog).proxies["web-sidecar-proxy"])
    #expect(web.findings.contains { $0.service == long && $0.message.contains("TLS allows 255") })
    #expect(try #require(web.snapshot).resources(.listener).count == 8, "every other listener stays")
  }

  @Test("TLS origination files: one that holds no PEM leaves that service out with the reason; one not on this host is a warning")
  func originationFiles() throws {
    _ = GoldenCase.originationFiles
    let broken = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-ca-\(UUID().uuidString).pem")
    try Data("hello".utf8).write(to: broken)
    defer { try? FileManager.default.removeItem(at: broken) }
    var catalog = try CatalogFile.snapshot(contentsOf: GoldenCase.fixture("gateway-services").catalog.path)
    catalog.gatewayTLS["terminating-gateway"]?["search"]?.caFile = broken.path
    catalog.inspectGatewayFiles()
    var gateway = try #require(translate(catalog).proxies["terminating-gateway"])
    #expect(gateway.findings.contains { $0.service == "search" && $0.message.contains("CAFile \(broken.path) holds no PEM certificate") })
    var listener = try #require(gateway.snapshot).listener("default:10.0.0.5:8443")
    #expect(!listener.filterChains.contains { $0.filterChainMatch.serverNames == [Self.sni("search")] })
    #expect(listener.filterChains.contains { $0.filterChainMatch.serverNames == [Self.sni("db")] }, "the other services stay")

    catalog.gatewayTLS["terminating-gateway"]?["search"]?.caFile = "/nonexistent/ca.pem"
    catalog.inspectGatewayFiles()
    gateway = try #require(translate(catalog).proxies["terminating-gateway"])
    #expect(gateway.findings.contains { $0.service == "search" && $0.severity == .warning && $0.message.contains("not on lambda-xds's host") })
    listener = try #require(gateway.snapshot).listener("default:10.0.0.5:8443")
    #expect(listener.filterChains.contains { $0.filterChainMatch.serverNames == [Self.sni("search")] })
  }
}

