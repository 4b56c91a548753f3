import ConsulCatalog
import EnvoyAPI
import Foundation
import ResourceCache
import SwiftProtobuf
import Testing
import Translation

typealias HCM = Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager
typealias UpstreamTLS = Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext
typealias DownstreamTLS = Envoy_Extensions_TransportSockets_Tls_V3_DownstreamTlsContext

/// The rules of the translation, asserted one by one (the golden files show the whole output).
@Suite("Translation rules")
struct TranslationRulesTests {
  static let trustDomain = "11111111-2222-3333-4444-555555555555.consul"
  static func sni(_ service: String) -> String { "\(service).default.dc1.internal.\(trustDomain)" }

  func proxy(_ caseName: String, _ node: String, options: TranslationOptions? = nil) throws -> Snapshot {
    var testCase = GoldenCase.fixture(caseName)
    if let options { testCase.options = options }
    return try #require(try testCase.translate().proxies[node]?.snapshot)
  }

  @Test("direct: aws_lambda right before the router, port stripped, cluster to AWS verified by TLS")
  func direct() throws {
    let snapshot = try proxy("direct", "api-sidecar-proxy")
    let listener = try snapshot.listener("authentication:127.0.0.1:10001")
    #expect(listener.address.socketAddress.portValue == 10001)
    let manager = try listener.connectionManager()
    #expect(manager.httpFilters.map(\.name) == ["envoy.filters.http.aws_lambda", "envoy.filters.http.router"])
    #expect(manager.stripAnyHostPort)
    let lambda = try Envoy_Extensions_Filters_Http_AwsLambda_V3_Config(unpackingAny: manager.httpFilters[0].typedConfig)
    #expect(lambda.arn == "arn:aws:lambda:us-east-1:123456789012:function:authentication")
    #expect(lambda.payloadPassthrough && lambda.invocationMode == .synchronous)
    #expect(lambda.hostRewrite == "lambda.us-east-1.amazonaws.com")
    #expect(!lambda.hasCredentials && lambda.credentialsProfile.isEmpty)

    let cluster = try snapshot.cluster(Self.sni("authentication"))
    #expect(manager.routeConfig.virtualHosts[0].routes[0].route.cluster == cluster.name)
    #expect(cluster.type == .logicalDns && cluster.dnsLookupFamily == .v4Only)
    let address = cluster.loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress
    #expect(address.address == "lambda.us-east-1.amazonaws.com" && address.portValue == 443)
    #expect(cluster.metadata.filterMetadata["com.amazonaws.lambda"]?.fields["egress_gateway"]?.boolValue == true)
    let tls = try UpstreamTLS(unpackingAny: cluster.transportSocket.typedConfig)
    #expect(tls.sni == "lambda.us-east-1.amazonaws.com")
    #expect(tls.commonTlsContext.validationContext.trustedCa.filename == "/etc/ssl/certs/ca-certificates.crt")
    #expect(tls.commonTlsContext.validationContext.matchTypedSubjectAltNames.map(\.matcher.exact) == ["lambda.us-east-1.amazonaws.com"])
  }

  @Test("through the gateway: the sidecar only routes, over mTLS to the gateway with the service's SNI")
  func gatedSidecar() throws {
    let snapshot = try proxy("gated", "api-sidecar-proxy")
    let manager = try snapshot.listener("payments:127.0.0.1:10002").connectionManager()
    #expect(manager.httpFilters.map(\.name) == ["envoy.filters.http.router"])
    let cluster = try snapshot.cluster(Self.sni("payments"))
    #expect(cluster.type == .eds)
    let endpoints = try #require(snapshot[ResourceKey(.endpoint, Self.sni("payments"))])
    let assignment = try Envoy_Config_Endpoint_V3_ClusterLoadAssignment(serializedBytes: endpoints.bytes)
    #expect(assignment.endpoints[0].lbEndpoints.map(\.endpoint.address.socketAddress.address) == ["10.0.0.5"])
    let tls = try UpstreamTLS(unpackingAny: cluster.transportSocket.typedConfig)
    #expect(tls.sni == Self.sni("payments"))
    #expect(tls.commonTlsContext.tlsCertificateSdsSecretConfigs.map(\.name) == ["mesh-leaf/api"])
    let san = tls.commonTlsContext.combinedValidationContext.defaultValidationContext.matchTypedSubjectAltNames
    #expect(san.map(\.matcher.exact) == ["spiffe://\(Self.trustDomain)/ns/default/dc/dc1/svc/payments"])
    #expect(snapshot.resources(.secret).keys.sorted() == ["mesh-leaf/api", "mesh-roots"])
  }

  @Test("the gateway: SNI chains requiring client certificates, RBAC then aws_lambda then router")
  func gateway() throws {
    let snapshot = try proxy("gated", "terminating-gateway")
    let listener = try snapshot.listener("default:10.0.0.5:8443")
    #expect(listener.listenerFilters.map(\.name) == ["envoy.filters.listener.tls_inspector"])
    let chain = try #require(listener.filterChains.first)
    #expect(chain.filterChainMatch.serverNames == [Self.sni("payments")])
    let tls = try DownstreamTLS(unpackingAny: chain.transportSocket.typedConfig)
    #expect(tls.requireClientCertificate.value)
    #expect(tls.commonTlsContext.tlsCertificateSdsSecretConfigs.map(\.name) == ["mesh-leaf/payments"])
    let manager = try HCM(unpackingAny: chain.filters[0].typedConfig)
    #expect(manager.httpFilters.map(\.name) == ["envoy.filters.http.rbac", "envoy.filters.http.aws_lambda", "envoy.filters.http.router"])
    #expect(manager.stripAnyHostPort)
    let routes = try Envoy_Config_Route_V3_RouteConfiguration(
      serializedBytes: try #require(snapshot[ResourceKey(.route, Self.sni("payments"))]).bytes)
    let action = routes.virtualHosts[0].routes[0].route
    #expect(action.cluster == Self.sni("payments"))
    // Intentions ride on the route (RDS), so a change reaches open connections; the listener
    // itself denies everyone.
    let listenerRBAC = try Envoy_Extensions_Filters_Http_Rbac_V3_RBAC(unpackingAny: manager.httpFilters[0].typedConfig)
    #expect(listenerRBAC.rules.action == .allow && listenerRBAC.rules.policies.isEmpty)
    let perRoute = try Envoy_Extensions_Filters_Http_Rbac_V3_RBACPerRoute(
      unpackingAny: try #require(routes.virtualHosts[0].routes[0].typedPerFilterConfig["envoy.filters.http.rbac"]))
    #expect(perRoute.rbac.rules.action == .deny, "default allow: a DENY rule set")
    #expect(action.hostRewriteSpecifier == nil, "no auto_host_rewrite: it would break the signature")
    let cluster = try snapshot.cluster(Self.sni("payments"))
    #expect(cluster.type == .logicalDns)
    #expect(cluster.loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.address == "lambda.us-west-2.amazonaws.com")
  }

  @Test("unlinking the gateway switches the sidecar to direct on the next snapshot")
  func liveSwitch() throws {
    var catalog = try CatalogFile.snapshot(contentsOf: GoldenCase.fixture("gated").catalog.path)
    let translator = Translator()
    let before = translator.translate(catalog, certificates: GoldenCase.certificates)
    catalog.gatewayLinks["terminating-gateway"] = []
    let after = translator.translate(catalog, certificates: GoldenCase.certificates)
    let filters = { (translation: CatalogTranslation) throws -> [String] in
      let snapshot = try #require(translation.proxies["api-sidecar-proxy"]?.snapshot)
      return try snapshot.listener("payments:127.0.0.1:10002").connectionManager().httpFilters.map(\.name)
    }
    #expect(try filters(before) == ["envoy.filters.http.router"])
    #expect(try filters(after) == ["envoy.filters.http.aws_lambda", "envoy.filters.http.router"])
    #expect(before.plan.routes["payments"].map { if case .gated = $0 { true } else { false } } == true)
  }

  @Test("settings that vanish from Meta (the registrator's rewrite) are a warning until the entry changes again; KV keeps them")
  func vanishedSettings() throws {
    func file(_ meta: String, kv: String = "{}", registrations: String = "[]") -> Data {
      Data(#"""
        {"registrations": \#(registrations), "kv": \#(kv), "config_entries": [{"Kind": "service-defaults", "Name": "checkout", "Protocol": "http",
          "Meta": \#(meta), "EnvoyExtensions": [{"Name": "builtin/aws/lambda", "Arguments": {"ARN": "arn:aws:lambda:us-east-1:123456789012:function:checkout"}}]}]}
        """#.utf8)
    }
    let state = TranslationState()
    var reader = CatalogFileReader(name: "catalog.json")
    func warnings(_ data: Data) throws -> [String] {
      let (catalog, change) = try #require(try reader.read(data))
      return Translator().translate(catalog, change: change, state: state).plan.findings.map(\.message)
    }
    #expect(try warnings(file(#"{"lambda-xds/timeout": "30s"}"#)).isEmpty)
    let vanished = try warnings(file(#"{"managed-by": "registrator"}"#))
    #expect(vanished.count == 1 && vanished[0].contains("(lambda-xds/timeout) are gone") && vanished[0].contains("lambda-xds/services/checkout"))
    // Another change elsewhere in the catalog keeps the warning; the entry changing again ends it.
    let other = #"[{"Node": "n", "Address": "10.0.0.1", "Service": {"Service": "other", "Port": 80}}]"#
    #expect(try warnings(file(#"{"managed-by": "registrator"}"#, registrations: other)) == vanished)
    #expect(try warnings(file(#"{"managed-by": "registrator", "v": "2"}"#)).isEmpty)
    // Settings in KV survive a Meta rewrite: nothing vanishes.
    #expect(try warnings(file("{}", kv: #"{"lambda-xds/services/checkout": {"timeout": "30s"}}"#)).isEmpty)
    #expect(try warnings(file(#"{"x": "y"}"#, kv: #"{"lambda-xds/services/checkout": {"timeout": "30s"}}"#)).isEmpty)
  }

  @Test("one bad service leaves every other resource in place")
  func isolation() throws {
    let translation = try GoldenCase.fixture("invalid").translate()
    let proxy = try #require(translation.proxies["api-sidecar-proxy"])
    let snapshot = try #require(proxy.snapshot)
    // The Lambda upstream that is fine, the inbound side, and the ordinary mesh upstream web.
    #expect(snapshot.resources(.listener).keys.sorted() == ["good:127.0.0.1:10001", "public_listener:0.0.0.0:21000", "web:127.0.0.1:10005"])
    for service in ["bad-arn", "tcp-service", "conflict", "duplicate-port"] {
      #expect(proxy.findings.contains { $0.service == service && $0.severity == .error }, "\(service)")
    }
  }

  @Test("overrides: a global endpoint wins; http means plain, an IP needs no DNS; upstream-filter mode")
  func overrides() throws {
    let snapshot = try proxy("overrides", "api-sidecar-proxy")
    let local = try snapshot.cluster(Self.sni("local"))
    #expect(local.type == .static && !local.hasTransportSocket)
    #expect(local.loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.portValue == 9001)
    let vpc = try snapshot.cluster(Self.sni("vpc"))
    #expect(try UpstreamTLS(unpackingAny: vpc.transportSocket.typedConfig).sni == "vpce-0123.lambda.us-east-1.vpce.amazonaws.com")

    let upstream = try snapshot.cluster(Self.sni("upstream-mode"))
    #expect(upstream.metadata.filterMetadata.isEmpty)
    let options = try Envoy_Extensions_Upstreams_Http_V3_HttpProtocolOptions(
      unpackingAny: try #require(upstream.typedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]))
    #expect(options.httpFilters.map(\.name) == ["envoy.filters.http.aws_lambda", "envoy.filters.http.upstream_codec"])
    let manager = try snapshot.listener("upstream-mode:127.0.0.1:10003").connectionManager()
    #expect(manager.httpFilters.map(\.name) == ["envoy.filters.http.router"])

    var global = TranslationOptions()
    global.lambdaEndpoint = try LambdaEndpoint(url: "http://127.0.0.1:7000")
    let overridden = try proxy("overrides", "api-sidecar-proxy", options: global)
    for name in ["local", "vpc", "upstream-mode"] {
      let cluster = try overridden.cluster(Self.sni(name))
      #expect(cluster.loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.portValue == 7000)
    }
  }

  @Test("a resource several proxies need is encoded once: every snapshot shares its bytes")
  func sharedEncoding() throws {
    var catalog = try CatalogFile.snapshot(contentsOf: GoldenCase.fixture("direct").catalog.path)
    let sidecar = try #require(catalog.instances["api-sidecar-proxy"])
    for index in 0..<50 {
      var copy = sidecar
      copy.id = "api-sidecar-proxy-\(index)"
      catalog.upsert(copy)
    }
    let translation = Translator().translate(catalog)
    let buffers = Set(
      try translation.proxies.values.map { proxy in
        let cluster = try #require(proxy.snapshot?[ResourceKey(.cluster, Self.sni("authentication"))])
        return cluster.bytes.withUnsafeBytes { Int(bitPattern: $0.baseAddress) }
      })
    #expect(translation.proxies.count == 51)
    #expect(buffers.count == 1)
  }

  @Test("kept state reuses encodings across translations and never changes the output")
  func keptState() throws {
    let state = TranslationState()
    let translator = Translator()
    var catalog = try CatalogFile.snapshot(contentsOf: GoldenCase.example.path)
    func snapshots(_ translation: CatalogTranslation) -> [String: Snapshot?] { translation.proxies.mapValues(\.snapshot) }
    let first = translator.translate(catalog, certificates: GoldenCase.certificates, state: state)
    #expect(state.resourceCount > 0)
    let again = translator.translate(catalog, certificates: GoldenCase.certificates, change: CatalogChange(), state: state)
    #expect(again.changed == [], "nothing changed: nothing translated again")
    let cluster = ResourceKey(.cluster, Self.sni("authentication"))
    let buffer = { (translation: CatalogTranslation) in
      translation.proxies["api-sidecar-proxy"]?.snapshot?[cluster]?.bytes.withUnsafeBytes { Int(bitPattern: $0.baseAddress) }
    }
    #expect(buffer(first) == buffer(again), "an unchanged resource is not encoded again")
    for change in [{ (c: inout CatalogSnapshot) in c.gatewayLinks["terminating-gateway"] = ["payments", "authentication"] },
                   { c in c.gatewayLinks["terminating-gateway"] = [] }, { c in c.trustDomain = "other.consul" },
                   { c in c.intentions["payments"] = nil }] {
      let before = catalog
      change(&catalog)
      let kept = translator.translate(
        catalog, certificates: GoldenCase.certificates, change: CatalogChange(from: before, to: catalog), state: state)
      let fresh = translator.translate(catalog, certificates: GoldenCase.certificates)
      #expect(snapshots(kept) == snapshots(fresh))
    }
  }

  @Test("the default intention policy follows Consul's ACL default unless set")
  func defaultPolicy() throws {
    var catalog = try CatalogFile.snapshot(contentsOf: GoldenCase.fixture("gated").catalog.path)
    func action(_ options: TranslationOptions) throws -> Envoy_Config_Rbac_V3_RBAC.Action {
      let snapshot = try #require(Translator(options: options).translate(catalog, certificates: GoldenCase.certificates)
        .proxies["terminating-gateway"]?.snapshot)
      let routes = try Envoy_Config_Route_V3_RouteConfiguration(
        serializedBytes: try #require(snapshot[ResourceKey(.route, Self.sni("payments"))]).bytes)
      return try Envoy_Extensions_Filters_Http_Rbac_V3_RBACPerRoute(
        unpackingAny: try #require(routes.virtualHosts[0].routes[0].typedPerFilterConfig["envoy.filters.http.rbac"])).rbac.rules.action
    }
    #expect(try action(TranslationOptions()) == .deny, "no ACLs: default allow, so a DENY rule set")
    catalog.aclDefaultPolicy = "deny"
    #expect(try action(TranslationOptions()) == .allow, "ACLs default deny: an ALLOW rule set")
    #expect(try action(TranslationOptions(defaultIntentionPolicy: .allow)) == .deny, "the flag wins")
  }

  @Test("no output ever carries AWS credentials", arguments: GoldenCase.all)
  func noCredentials(_ testCase: GoldenCase) throws {
    for (name, text) in try testCase.documents() {
      // `"credentials"` (the inline field), not `credentials_profile`, which names a profile.
      for word in ["\"credentials\"", "access_key", "secret_access_key", "session_token", "BEGIN EC PRIVATE KEY"] {
        #expect(!text.contains(word), "\(testCase.name)/\(name) contains \(word)")
      }
    }
  }
}

extension Snapshot {
  func listener(_ name: String) throws -> Envoy_Config_Listener_V3_Listener {
    try Envoy_Config_Listener_V3_Listener(serializedBytes: try #require(self[ResourceKey(.listener, name)], "listener \(name)").bytes)
  }

  func cluster(_ name: String) throws -> Envoy_Config_Cluster_V3_Cluster {
    try Envoy_Config_Cluster_V3_Cluster(serializedBytes: try #require(self[ResourceKey(.cluster, name)], "cluster \(name)").bytes)
  }
}

extension Envoy_Config_Listener_V3_Listener {
  func connectionManager() throws -> HCM {
    try HCM(unpackingAny: try #require(filterChains.first?.filters.first).typedConfig)
  }
}
