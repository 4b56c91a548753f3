import ConsulCatalog
import Foundation
import MeshIdentity
import Testing
import SwiftASN1
import X509

@Suite("Dev CA")
struct DevCertificateAuthorityTests {
  @Test("a leaf chains to the root and carries the service's SPIFFE identity")
  func leaf() async throws {
    let now = Date()
    let authority = try DevCertificateAuthority(trustDomain: "abc.consul", now: now)
    let issued = try authority.issue(service: "payments", datacenter: "dc1", now: now, lifetime: 3600)
    let leaf = try Certificate(pemEncoded: issued.leaf.certificatePEM)
    let root = try Certificate(pemEncoded: authority.rootPEM)
    let names = try #require(try leaf.extensions.subjectAlternativeNames)
    #expect(Array(names) == [.uniformResourceIdentifier("spiffe://abc.consul/ns/default/dc/dc1/svc/payments")])
    var verifier = Verifier(rootCertificates: CertificateStore([root])) { RFC5280Policy() }
    let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore())
    guard case .validCertificate = result else {
      Issue.record("leaf does not verify: \(result)")
      return
    }
    let other = try DevCertificateAuthority(trustDomain: "abc.consul", now: now)
    var strangers = Verifier(rootCertificates: CertificateStore([try Certificate(pemEncoded: other.rootPEM)])) {
      RFC5280Policy()
    }
    guard case .couldNotValidate = await strangers.validate(leaf: leaf, intermediates: CertificateStore()) else {
      Issue.record("a leaf verified against another CA's root")
      return
    }
  }

  @Test("a new trust domain is <uuid>.consul; a kept CA comes back with the same trust")
  func persistence() throws {
    let authority = try DevCertificateAuthority()
    #expect(authority.trustDomain.hasSuffix(".consul") && authority.trustDomain.count == 36 + 7)
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dev-ca-\(UUID())")
    defer { try? FileManager.default.removeItem(at: directory) }
    try authority.write(to: directory)
    let loaded = try DevCertificateAuthority(directory: directory)
    #expect(loaded.trustDomain == authority.trustDomain && loaded.rootPEM == authority.rootPEM)
    let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("dev-ca-key.pem").path)[.posixPermissions]
    #expect((mode as? NSNumber)?.intValue == 0o600)
  }

  @Test("leaves renew at half-life, unused ones are dropped")
  func rotation() throws {
    let start = Date()
    var rotation = LeafRotation(authority: try DevCertificateAuthority(trustDomain: "abc.consul"), lifetime: 100)
    #expect(try rotation.update(services: ["api", "payments"], datacenter: "dc1", now: start))
    let first = try #require(rotation.leaves["api"]).serial
    #expect(try !rotation.update(services: ["api", "payments"], datacenter: "dc1", now: start.addingTimeInterval(40)))
    #expect(try rotation.update(services: ["api", "payments"], datacenter: "dc1", now: start.addingTimeInterval(51)))
    #expect(rotation.leaves["api"]?.serial != first)
    #expect(try rotation.update(services: ["api"], datacenter: "dc1", now: start.addingTimeInterval(52)))
    #expect(rotation.leaves.keys.sorted() == ["api"])
    #expect(rotation.certificates.rootsPEM == rotation.authority.rootPEM)
  }

  @Test("a change that cannot alter which services need leaves skips the pass; one of a proxy or gateway does not")
  func changeAware() throws {
    func sidecar(_ service: String) -> ServiceInstance {
      ServiceInstance(
        id: "\(service)-sidecar-proxy", name: "\(service)-sidecar-proxy", kind: .connectProxy, address: "10.0.0.1", port: 21000,
        proxy: ProxyConfig(destinationServiceName: service))
    }
    let now = Date()
    var catalog = CatalogSnapshot(datacenter: "dc1", instances: [sidecar("api")])
    var rotation = LeafRotation(authority: try DevCertificateAuthority(trustDomain: "abc.consul"), lifetime: 100)
    #expect(try rotation.apply(to: &catalog, change: .all, now: now))
    #expect(catalog.trustDomain == "abc.consul")
    catalog.upsert(sidecar("web"))
    // Told only that some service changed, the rotation keeps its leaves as they are...
    #expect(try !rotation.apply(to: &catalog, change: CatalogChange(services: ["web"]), now: now))
    #expect(rotation.leaves.keys.sorted() == ["api"])
    // ...told of the new proxy, or without a change (a renewal tick), it looks at every proxy.
    #expect(try rotation.apply(to: &catalog, change: CatalogChange(proxies: ["web-sidecar-proxy"]), now: now))
    #expect(rotation.leaves.keys.sorted() == ["api", "web"])
    catalog.upsert(ServiceInstance(id: "tgw", name: "tgw", kind: .terminatingGateway, address: "10.0.0.2", port: 8443))
    catalog.gatewayLinks["tgw"] = ["fn"]
    #expect(try rotation.apply(to: &catalog, change: CatalogChange(services: ["tgw"]), now: now))
    #expect(rotation.leaves["fn"] != nil)
    #expect(try rotation.apply(to: &catalog, now: now.addingTimeInterval(60)))
  }

  @Test("with a store, a restarted rotation takes up the same leaves; another CA's leaves are issued anew")
  func keptLeaves() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("leaves-\(UUID())")
    defer { try? FileManager.default.removeItem(at: directory) }
    let authority = try DevCertificateAuthority(trustDomain: "abc.consul")
    let now = Date()
    var first = LeafRotation(authority: authority, lifetime: 3600, store: directory)
    #expect(try first.update(services: ["api", "web"], datacenter: "dc1", now: now))
    var restarted = LeafRotation(authority: authority, lifetime: 3600, store: directory)
    _ = try restarted.update(services: ["api", "web"], datacenter: "dc1", now: now.addingTimeInterval(60))
    #expect(restarted.certificates == first.certificates, "the same certificates and keys after a restart")
    let key = directory.appendingPathComponent("leaves/api-key.pem").path
    #expect((try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? NSNumber)?.intValue == 0o600)

    var stranger = LeafRotation(authority: try DevCertificateAuthority(trustDomain: "abc.consul"), lifetime: 3600, store: directory)
    _ = try stranger.update(services: ["api"], datacenter: "dc1", now: now)
    #expect(stranger.leaves["api"]?.serial != first.leaves["api"]?.serial, "a leaf another CA signed is not reused")
    var otherDatacenter = LeafRotation(authority: authority, lifetime: 3600, store: directory)
    _ = try otherDatacenter.update(services: ["web"], datacenter: "dc2", now: now)
    #expect(otherDatacenter.leaves["web"]?.serial != first.leaves["web"]?.serial, "nor one for another identity")
  }
}
