import ConsulCatalog
import Testing

@Suite("SPIFFE identities")
struct SPIFFEIDTests {
  @Test("service identities parse and print back; other URIs are not services")
  func parse() throws {
    let api = try #require(SPIFFEID(uri: "spiffe://abc.consul/ns/default/dc/dc1/svc/api"))
    #expect(api == SPIFFEID(trustDomain: "abc.consul", datacenter: "dc1", service: "api"))
    #expect(api.description == "spiffe://abc.consul/ns/default/dc/dc1/svc/api")
    #expect(SPIFFEID(uri: "spiffe://abc.consul/ap/part1/ns/default/dc/dc2/svc/web")?.service == "web")
    for other in [
      "spiffe://abc.consul", "https://example.com/ns/default/dc/dc1/svc/x", "spiffe://abc.consul/agent/client/dc/dc1/id/x",
      "spiffe://abc.consul/ns/default/dc/dc1/svc/", "spiffe://abc.consul/gateway/mesh/dc/dc1",
    ] {
      #expect(SPIFFEID(uri: other) == nil, "\(other)")
    }
    #expect(SPIFFEID.root(trustDomain: "abc.consul") == "spiffe://abc.consul")
    #expect(SPIFFEID.trustDomain(ofRoot: "spiffe://abc.consul") == "abc.consul")
    #expect(SPIFFEID.trustDomain(ofRoot: "spiffe://abc.consul/ns/default") == nil)
  }

  @Test("the intentions pattern matches the service in any datacenter and escapes the names")
  func pattern() {
    #expect(SPIFFEID.pattern(trustDomain: "abc.consul", service: "api") == #"^spiffe://abc\.consul/ns/default/dc/[^/]+/svc/api$"#)
    #expect(SPIFFEID.pattern(trustDomain: "abc.consul", service: nil) == #"^spiffe://abc\.consul/ns/default/dc/[^/]+/svc/[^/]+$"#)
  }
}
