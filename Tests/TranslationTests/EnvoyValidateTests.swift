import Foundation
import ResourceCache
import TestSupport
import Testing
import Translation

/// Real Envoy 1.40 accepts every golden case's configuration (`envoy --mode validate` on the
/// snapshot rendered as a static bootstrap), so a wrong field number or a rule Envoy enforces
/// fails here rather than as a NACK in production.
@Suite("Envoy validates the generated configuration")
struct EnvoyValidateTests {
  @Test("every proxy of every case", arguments: GoldenCase.all)
  func validate(_ testCase: GoldenCase) throws {
    GoldenCase.originationFiles
    let translation = try testCase.translate()
    #expect(!translation.proxies.isEmpty)
    for (node, proxy) in translation.proxies.sorted(by: { $0.key < $1.key }) {
      let snapshot = try #require(proxy.snapshot, "\(node) has no snapshot")
      let bootstrap = try EnvoyJSON.string(try snapshot.staticBootstrap(nodeID: node))
      let complaint = try EnvoyProcess.validate(bootstrapJSON: bootstrap, name: "\(testCase.name)-\(node)")
      #expect(complaint == nil, "\(testCase.name)/\(node): \(complaint ?? "")")
    }
  }
}

/// The check above can fail: Envoy's validate mode rejects what it would NACK.
@Suite("Envoy validate rejects broken configuration")
struct EnvoyValidateNegativeTests {
  @Test("an invalid ARN and a missing CA bundle are both rejected")
  func rejects() throws {
    let translation = try GoldenCase.fixture("direct").translate()
    let snapshot = try #require(translation.proxies["api-sidecar-proxy"]?.snapshot)
    let good = try EnvoyJSON.string(try snapshot.staticBootstrap(nodeID: "api-sidecar-proxy"))
    #expect(try EnvoyProcess.validate(bootstrapJSON: good, name: "negative-good") == nil)

    let badARN = good.replacingOccurrences(of: "arn:aws:lambda:us-east-1:123456789012:function:authentication", with: "not-an-arn")
    #expect(try EnvoyProcess.validate(bootstrapJSON: badARN, name: "negative-arn")?.contains("Invalid ARN") == true)

    let noBundle = good.replacingOccurrences(of: "/etc/ssl/certs/ca-certificates.crt", with: "/nonexistent/ca.pem")
    #expect(try EnvoyProcess.validate(bootstrapJSON: noBundle, name: "negative-ca") != nil)
  }
}
