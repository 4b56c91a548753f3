import Foundation
import TestSupport
import Testing

/// Real requests through real Envoy 1.40 sidecar and gateway, configured by `lambda-xds serve`,
/// arriving at a Lambda stand-in that checks every SigV4 signature with botocore.
@Suite("End to end: invoking Lambda through Envoy", .serialized)
struct LambdaInvocationTests {
  @Test("direct from the sidecar (key A) and through the gateway over mTLS (key B)")
  func bothPaths() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    let direct = try await poll("the direct upstream answers", timeout: 30) { () -> (Int, [String: String], String)? in
      let response = try await mesh.call("authentication", path: "/login")
      return response.status == 200 ? response : nil
    }
    let directAnswer = try #require(try JSONSerialization.jsonObject(with: Data(direct.2.utf8)) as? [String: String])
    #expect(directAnswer["invoked"] == "arn:aws:lambda:us-east-1:123456789012:function:authentication")
    #expect(directAnswer["signed_by"] == MeshDeployment.sidecarKey)

    // payments: JSON envelope (passthrough off); the function's {statusCode: 201, ...} becomes the reply.
    let gated = try await poll("the gated upstream answers", timeout: 30) { () -> (Int, [String: String], String)? in
      let response = try await mesh.call("payments", path: "/charge?id=42")
      return response.status == 201 ? response : nil
    }
    #expect(gated.1["x-standin"] == "envelope")
    let gatedAnswer = try #require(try JSONSerialization.jsonObject(with: Data(gated.2.utf8)) as? [String: String])
    #expect(gatedAnswer["invoked"] == "arn:aws:lambda:us-west-2:123456789012:function:payments")
    #expect(gatedAnswer["signed_by"] == MeshDeployment.gatewayKey)
    #expect(gatedAnswer["raw_path"] == "/charge?id=42")

    let failure = try await mesh.call("payments", body: #"{"action":"raise-error"}"#)
    #expect(failure.status == 200 && failure.headers["x-amz-function-error"] == "Unhandled")

    let invocations = try await mesh.standIn.invocations()
    #expect(invocations.count >= 3)
    let problems = invocations.compactMap(\.problem)
    #expect(problems.isEmpty, "\(problems)")
    #expect(invocations.allSatisfy { $0.invocation_type == "RequestResponse" })
    let payments = invocations.filter { $0.arn.hasSuffix(":payments") }
    #expect(!payments.isEmpty && payments.allSatisfy { $0.access_key_id == MeshDeployment.gatewayKey && $0.envelope })
    let authentication = invocations.filter { $0.arn.hasSuffix(":authentication") }
    #expect(!authentication.isEmpty && authentication.allSatisfy { $0.access_key_id == MeshDeployment.sidecarKey && !$0.envelope })
  }

  @Test("linking a service to the gateway moves its signing there, and back, without restarting Envoy")
  func liveSwitch() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try await eventually("direct signing by the sidecar", timeout: 30) {
      try await mesh.signer(of: "authentication") == MeshDeployment.sidecarKey
    }
    try mesh.editCatalog { document in
      document.entry("terminating-gateway", "terminating-gateway") { $0["Services"] = [["Name": "payments"], ["Name": "authentication"]] }
    }
    try await eventually("signing by the gateway", timeout: 20) {
      try await mesh.signer(of: "authentication") == MeshDeployment.gatewayKey
    }
    try mesh.editCatalog { document in
      document.entry("terminating-gateway", "terminating-gateway") { $0["Services"] = [["Name": "payments"]] }
    }
    try await eventually("direct signing again", timeout: 20) {
      try await mesh.signer(of: "authentication") == MeshDeployment.sidecarKey
    }
    let pids = (mesh.sidecar.pid, mesh.gateway.pid)
    #expect(try await mesh.sidecar.admin("/server_info").contains("LIVE") && pids == (mesh.sidecar.pid, mesh.gateway.pid))
  }

  @Test("intentions at the gateway: an L4 deny for api, then an L7 deny for one path; the direct path is unaffected")
  func intentionDeny() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try await eventually("payments reachable", timeout: 30) { try await mesh.call("payments").status == 201 }
    try mesh.editCatalog { document in
      document.entry("service-intentions", "payments") { $0["Sources"] = [["Name": "api", "Action": "deny"]] }
    }
    try await eventually("payments denied by RBAC", timeout: 20) { try await mesh.call("payments").status == 403 }
    #expect(try await mesh.call("authentication").status == 200)
    let denied = try await mesh.standIn.invocations().filter { $0.arn.hasSuffix(":payments") }.count
    _ = try await mesh.call("payments")
    #expect(try await mesh.standIn.invocations().filter { $0.arn.hasSuffix(":payments") }.count == denied, "a denied call reached Lambda")

    // L7: api may call payments except under /admin (the first matching permission decides).
    try mesh.editCatalog { document in
      document.entry("service-intentions", "payments") {
        $0["Sources"] = [["Name": "api", "Permissions": [
          ["Action": "deny", "HTTP": ["PathPrefix": "/admin"]], ["Action": "allow", "HTTP": ["PathPrefix": "/"]],
        ]]]
      }
    }
    try await eventually("the L7 intention in effect", timeout: 20) { try await mesh.call("payments", path: "/charge").status == 201 }
    #expect(try await mesh.call("payments", path: "/admin/refund").status == 403)
    #expect(try await mesh.call("payments", path: "/charge").status == 201)
  }

  @Test("intentions on the direct path: the caller's own sidecar answers 403 (L4, then L7) and Lambda is never invoked")
  func directIntentions() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try await eventually("authentication reachable", timeout: 30) { try await mesh.call("authentication").status == 200 }
    func invocations() async throws -> Int {
      try await mesh.standIn.invocations().filter { $0.arn.hasSuffix(":authentication") }.count
    }
    try mesh.editCatalog { document in
      document.entry("service-intentions", "authentication") { $0["Sources"] = [["Name": "api", "Action": "deny"]] }
    }
    try await eventually("authentication denied at the caller", timeout: 20) { try await mesh.call("authentication").status == 403 }
    let before = try await invocations()
    #expect(try await mesh.call("authentication", path: "/login").status == 403)
    #expect(try await invocations() == before, "a denied call reached Lambda")

    // L7: api may call it except under /admin, where only GET /admin/health passes (the first
    // matching permission decides; a request none matches gets the default, allow).
    try mesh.editCatalog { document in
      document.entry("service-intentions", "authentication") {
        $0["Sources"] = [["Name": "api", "Permissions": [
          ["Action": "allow", "HTTP": ["PathExact": "/admin/health", "Methods": ["GET"]]],
          ["Action": "deny", "HTTP": ["PathPrefix": "/admin"]],
        ]]]
      }
    }
    try await eventually("the L7 intention in effect", timeout: 20) { try await mesh.call("authentication", path: "/login").status == 200 }
    #expect(try await mesh.call("authentication", path: "/admin/health", method: "GET").status == 200)
    #expect(try await mesh.call("authentication", path: "/admin/health").status == 403, "a POST passed a GET-only permission")
    #expect(try await mesh.call("authentication", path: "/admin/users", method: "GET").status == 403)
    #expect(try await invocations() == before + 2)
  }

  @Test("function-error-status: a function error reaches the caller as 502 with X-Amz-Function-Error on both paths")
  func functionErrors() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try await mesh.bothLambdaPathsAnswer()
    for service in ["authentication", "payments"] {
      #expect(try await mesh.call(service, body: #"{"action":"raise-error"}"#).status == 200, "off by default, as Consul")
    }
    try mesh.editCatalog { document in
      for service in ["authentication", "payments"] {
        document.entry("service-defaults", service) {
          var meta = $0["Meta"] as? [String: Any] ?? [:]
          meta["lambda-xds/function-error-status"] = "502"
          $0["Meta"] = meta
        }
      }
    }
    for service in ["authentication", "payments"] {
      let failed = try await poll("\(service)'s function error as 502", timeout: 20) {
        () -> (status: Int, headers: [String: String], body: String)? in
        let response = try await mesh.call(service, body: #"{"action":"raise-error"}"#)
        return response.status == 502 ? response : nil
      }
      #expect(failed.headers["x-amz-function-error"] == "Unhandled", "\(service): \(failed.headers)")
      let body = try JSONSerialization.jsonObject(with: Data(failed.body.utf8)) as? [String: Any]
      #expect(body?["functionError"] as? String == "Unhandled" && body?["requestId"] as? String == "standin-request", "\(failed.body)")
    }
    #expect(try await mesh.call("authentication").status == 200)
    #expect(try await mesh.call("payments").status == 201, "a successful call is untouched")
  }

  @Test("--lambda-function-error-status: the default for every Lambda service; Meta off opts one out")
  func globalFunctionErrors() async throws {
    let mesh = try await MeshDeployment.start(serveArguments: ["--lambda-function-error-status", "503"]) { document in
      document.entry("service-defaults", "authentication") {
        var meta = $0["Meta"] as? [String: Any] ?? [:]
        meta["lambda-xds/function-error-status"] = "off"
        $0["Meta"] = meta
      }
    }
    defer { mesh.stop() }
    try await mesh.bothLambdaPathsAnswer()
    let failed = try await mesh.call("payments", body: #"{"action":"raise-error"}"#)
    #expect(failed.status == 503 && failed.headers["x-amz-function-error"] == "Unhandled")
    let passed = try await mesh.call("authentication", body: #"{"action":"raise-error"}"#)
    #expect(passed.status == 200 && passed.headers["x-amz-function-error"] == "Unhandled", "Meta off")
  }

  @Test("a canary: service-splitter 90/10 between two Lambda versions; 200 calls land within binomial bounds, direct and through the gateway")
  func canary() async throws {
    let function = "arn:aws:lambda:us-east-1:123456789012:function:checkout"
    let mesh = try await MeshDeployment.start { document in
      for version in ["1", "2"] {
        document.registrations.append([
          "Node": "lambdas", "SkipNodeUpdate": true, "NodeMeta": ["external-node": "true", "external-probe": "true"],
          "Service": ["ID": "checkout-v\(version)", "Service": "checkout-v\(version)"],
        ])
        document.configEntries.append([
          "Kind": "service-defaults", "Name": "checkout-v\(version)", "Protocol": "http",
          "EnvoyExtensions": [["Name": "builtin/aws/lambda", "Arguments": ["ARN": "\(function):\(version)"]]],
        ])
      }
      document.configEntries.append(["Kind": "service-defaults", "Name": "checkout", "Protocol": "http"])
      document.configEntries.append([
        "Kind": "service-splitter", "Name": "checkout",
        "Splits": [["Weight": 90, "Service": "checkout-v1"], ["Weight": 10, "Service": "checkout-v2"]],
      ])
      document.registration("api-sidecar-proxy") { registration in
        var service = registration["Service"] as! [String: Any]
        var proxy = service["Proxy"] as! [String: Any]
        proxy["Upstreams"] = (proxy["Upstreams"] as! [[String: Any]]) + [["DestinationName": "checkout", "LocalBindPort": 1]]
        service["Proxy"] = proxy
        registration["Service"] = service
      }
    }
    defer { mesh.stop() }
    /// 200 calls; how many reached version 2, and who signed them all.
    func split() async throws -> (v2: Int, signers: Set<String>) {
      try await mesh.standIn.clear()
      for _ in 0..<200 {
        let status = try await mesh.call("checkout").status
        #expect(status == 201)
      }
      let invocations = try await mesh.standIn.invocations().filter { $0.arn.hasPrefix(function) }
      #expect(invocations.count == 200 && invocations.allSatisfy { $0.signature_valid })
      let versions = Dictionary(grouping: invocations, by: \.arn).mapValues(\.count)
      #expect(Set(versions.keys).isSubset(of: ["\(function):1", "\(function):2"]))
      return (versions["\(function):2"] ?? 0, Set(invocations.compactMap(\.access_key_id)))
    }
    // JSON envelope mode (no PayloadPassthrough): the stand-in's function answers 201.
    try await eventually("the canary answers", timeout: 30) { try await mesh.call("checkout").status == 201 }
    // Binomial(200, 0.1): mean 20, standard deviation 4.2; 4.5 of them either side (p < 1e-5).
    let direct = try await split()
    print("canary, direct: \(direct.v2) of 200 calls to version 2")
    #expect((1...39).contains(direct.v2) && direct.signers == [MeshDeployment.sidecarKey], "\(direct)")

    try mesh.editCatalog { document in
      document.entry("terminating-gateway", "terminating-gateway") {
        $0["Services"] = [["Name": "payments"], ["Name": "checkout-v1"], ["Name": "checkout-v2"]]
      }
    }
    try await eventually("the canary signed at the gateway", timeout: 30) { try await mesh.signer(of: "checkout") == MeshDeployment.gatewayKey }
    let gated = try await split()
    print("canary, through the gateway: \(gated.v2) of 200 calls to version 2")
    #expect((1...39).contains(gated.v2) && gated.signers == [MeshDeployment.gatewayKey], "\(gated)")
  }

  @Test("an invalid ARN disables that service only; check reports it")
  func invalidARN() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try await eventually("both upstreams answer", timeout: 30) {
      let direct = try await mesh.call("authentication").status
      let gated = try await mesh.call("payments").status
      return direct == 200 && gated == 201
    }
    try mesh.editCatalog { document in
      document.entry("service-defaults", "authentication") { entry in
        entry["EnvoyExtensions"] = [["Name": "builtin/aws/lambda", "Arguments": ["ARN": "arn:aws:lambda:us-east-1:12345:function:authentication"]]]
      }
    }
    let check = try LambdaXDSProcess.run(["check", "--catalog-file", mesh.catalogFile.path])
    #expect(check.status == 1)
    #expect(check.stdout.contains("authentication: excluded: invalid Lambda ARN"))
    try await eventually("the server logs the reason", timeout: 20) { mesh.server.log.contains("the account id must be 12 digits") }
    for _ in 0..<5 { #expect(try await mesh.call("payments").status == 201) }
  }

  @Test("per-service settings: upstream-filter mode and asynchronous invocation, signed correctly")
  func upstreamModeAndAsynchronous() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try await eventually("authentication answers", timeout: 30) { try await mesh.call("authentication").status == 200 }
    try mesh.editCatalog { document in
      document.entry("service-defaults", "authentication") { entry in
        entry["Meta"] = ["lambda-xds/filter-mode": "upstream"]
        entry["EnvoyExtensions"] = [[
          "Name": "builtin/aws/lambda",
          "Arguments": ["ARN": "arn:aws:lambda:us-east-1:123456789012:function:authentication", "InvocationMode": "ASYNCHRONOUS"],
        ]]
      }
    }
    try await eventually("asynchronous invocation accepted", timeout: 20) { try await mesh.call("authentication").status == 202 }
    let events = try await mesh.standIn.invocations().filter { $0.invocation_type == "Event" }
    #expect(!events.isEmpty)
    #expect(events.allSatisfy { $0.signature_valid && $0.access_key_id == MeshDeployment.sidecarKey && $0.envelope }, "\(events.map { ($0.problem, $0.access_key_id, $0.envelope) })")
  }

  @Test("Lambda-sized calls: 2 MB bodies, a 16 s function on both paths, hygienic signatures, then a 1 s timeout and a credentials profile")
  func productionSettings() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try await mesh.bothLambdaPathsAnswer()
    try await mesh.standIn.clear()

    // Envoy's defaults would answer 413 (1 MiB buffer) and 504 (15 s route timeout).
    let large = #"{"blob":""# + String(repeating: "x", count: 2_000_000) + #""}"#
    let largeDirect = try await mesh.call("authentication", body: large, timeout: 30)
    let largeGated = try await mesh.call("payments", body: large, timeout: 30)
    #expect(largeDirect.status == 200 && largeGated.status == 201)
    async let slowDirect = mesh.call("authentication", body: #"{"work":"sleep-16000ms"}"#, timeout: 40)
    async let slowGated = mesh.call("payments", body: #"{"work":"sleep-16000ms"}"#, timeout: 40)
    let (direct, gated) = try await (slowDirect.status, slowGated.status)
    #expect(direct == 200 && gated == 201)

    // Headers hops add are forwarded but not signed; the caller's own are.
    let hops = [
      "x-forwarded-for": "203.0.113.7", "x-amzn-trace-id": "Root=1-abc", "authorization": "Bearer caller",
      "x-envoy-original-path": "/elsewhere", "x-caller": "kept",
    ]
    let hopDirect = try await mesh.call("authentication", headers: hops)
    let hopGated = try await mesh.call("payments", headers: hops)
    #expect(hopDirect.status == 200 && hopGated.status == 201)
    let invocations = try await mesh.standIn.invocations()
    #expect(invocations.count == 6)
    #expect(invocations.allSatisfy { $0.signature_valid }, "\(invocations.compactMap { $0.problem })")
    #expect(invocations.filter { $0.body_bytes >= 2_000_000 }.count == 2)
    let hopped = invocations.suffix(2)
    for invocation in hopped {
      #expect(invocation.signed_headers.contains("x-caller"), "\(invocation.signed_headers)")
      let unsigned = invocation.signed_headers.filter {
        $0.hasPrefix("x-forwarded-") || $0.hasPrefix("x-amzn-") || $0.hasPrefix("x-envoy-") || $0 == "authorization"
      }
      #expect(unsigned.isEmpty, "\(invocation.arn) signed \(unsigned)")
    }

    try mesh.editCatalog { document in
      document.entry("service-defaults", "authentication") { entry in
        entry["Meta"] = ["lambda-xds/timeout": "1s", "lambda-xds/credentials-profile": "billing"]
      }
    }
    try await eventually("the sidecar signs with profile billing", timeout: 20) {
      try await mesh.signer(of: "authentication") == MeshDeployment.profileKey
    }
    let timedOut = try await mesh.call("authentication", body: #"{"work":"sleep-2500ms"}"#, timeout: 10)
    #expect(timedOut.status == 504)
    let gatedSigner = try await mesh.signer(of: "payments")
    #expect(gatedSigner == MeshDeployment.gatewayKey)
  }

  @Test("Consul mode: catalog and Connect CA from the Consul simulator; changes and leaf renewals reach Envoy")
  func consulMode() async throws {
    let mesh = try await MeshDeployment.start(consulMode: true)
    defer { mesh.stop() }
    let consul = try #require(mesh.consul)
    try await eventually("direct signing by the sidecar", timeout: 30) {
      try await mesh.signer(of: "authentication") == MeshDeployment.sidecarKey
    }
    try await consul.put(
      "/v1/config",
      json: #"{"Kind":"service-defaults","Name":"authentication","Protocol":"http","EnvoyExtensions":[{"Name":"builtin/aws/lambda","Arguments":{"ARN":"arn:aws:lambda:us-east-1:123456789012:function:authentication","PayloadPassthrough":true,"InvocationMode":"asynchronous"}}]}"#)
    try await eventually("the new invocation mode in effect", timeout: 20) { try await mesh.call("authentication").status == 202 }
    let events = try await mesh.standIn.invocations().filter { $0.invocation_type == "Event" }
    #expect(!events.isEmpty && events.allSatisfy { $0.signature_valid && $0.access_key_id == MeshDeployment.sidecarKey })
    // Gated through the gateway with Consul's own CA: leaves from /v1/agent/connect/ca/leaf.
    try await eventually("payments through the gateway", timeout: 30) { try await mesh.signer(of: "payments") == MeshDeployment.gatewayKey }
    // Settings in KV, where the registrator's rewrites of service-defaults cannot drop them.
    try await consul.put("/v1/kv/lambda-xds/services/payments", json: #"{"function-error-status": "502"}"#)
    try await eventually("the KV setting in effect at the gateway", timeout: 20) {
      try await mesh.call("payments", body: #"{"action":"raise-error"}"#).status == 502
    }
    try await consul.delete("/v1/kv/lambda-xds/services/payments")
    try await eventually("the default again once the key is gone", timeout: 20) {
      try await mesh.call("payments", body: #"{"action":"raise-error"}"#).status == 200
    }
    let serial = { (envoy: EnvoyProcess) async throws -> Set<String> in
      let certs = try await envoy.admin("/certs")
      return Set(certs.components(separatedBy: "\"serial_number\": \"").dropFirst().map { String($0.prefix { $0 != "\"" }) })
    }
    // Rotate both leaves while requests keep flowing: none may fail, both Envoys get new serials.
    let before = (try await serial(mesh.sidecar), try await serial(mesh.gateway))
    let loop = Task { () -> (sent: Int, failed: [Int]) in
      var sent = 0
      var failed: [Int] = []
      let deadline = Date().addingTimeInterval(4)
      while Date() < deadline {
        let status = (try? await mesh.call("payments").status) ?? -1
        sent += 1
        if status != 201 { failed.append(status) }
      }
      return (sent, failed)
    }
    try await Task.sleep(for: .milliseconds(500))
    try await consul.put("/_sim/rotate-leaf/payments", json: "{}")
    try await consul.put("/_sim/rotate-leaf/api", json: "{}")
    try await eventually("both Envoys present renewed leaves", timeout: 20) {
      let now = (try await serial(mesh.sidecar), try await serial(mesh.gateway))
      return now.0 != before.0 && now.1 != before.1
    }
    let result = await loop.value
    print("requests through the gateway during a leaf rotation of both proxies: \(result.sent), failed: \(result.failed.count)")
    #expect(result.sent > 10 && result.failed.isEmpty, "\(result.failed.count) of \(result.sent) requests failed during rotation: \(result.failed)")
    let check = try LambdaXDSProcess.run(["check", "--consul-address", consul.address])
    #expect(check.status == 0, "\(check.stdout)")
  }

  @Test("the gateway refuses a caller without a mesh certificate, and one whose identity intentions deny")
  func gatewayRefusesStrangers() async throws {
    let mesh = try await MeshDeployment.start()
    defer { mesh.stop() }
    try mesh.editCatalog { document in
      document.entry("service-intentions", "payments") { $0["Sources"] = [["Name": "api", "Action": "allow"], ["Name": "*", "Action": "deny"]] }
    }
    let trustDomain = "11111111-2222-3333-4444-555555555555.consul"
    let ca = mesh.dataDirectory.appendingPathComponent("dev-ca.pem").path
    func probe(as service: String?) throws -> String {
      let arguments = [
        EnvoyProcess.projectRoot.appendingPathComponent("Tests/simulators/mesh_client.py").path,
        "--port", "\(mesh.ports["gateway"]!)", "--sni", "payments.default.dc1.internal.\(trustDomain)", "--ca", ca,
      ] + (service.map { ["--as", $0, "--ca-key", mesh.dataDirectory.appendingPathComponent("dev-ca-key.pem").path, "--trust-domain", trustDomain] } ?? [])
      return try ChildRun.run(try PythonServer.interpreter(), arguments, timeout: 30).stdout
        .trimmingCharacters(in: .whitespacesAndNewlines)
    }
    try await eventually("api, with its identity, is let through", timeout: 30) { try probe(as: "api") == "201" }
    #expect(try probe(as: "web") == "403", "a valid mesh identity that intentions deny")
    #expect(try probe(as: nil).hasPrefix("tls-error"), "no client certificate")
  }
}
