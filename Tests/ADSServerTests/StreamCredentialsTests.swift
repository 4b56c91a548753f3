import ADSServer
import Testing

@Suite("Stream credentials")
struct StreamCredentialsTests {
  @Test("the services named by a client certificate's SPIFFE URIs")
  func spiffeServices() {
    let credentials = StreamCredentials(certificateURIs: [
      "spiffe://abc.consul/ns/default/dc/dc1/svc/api", "spiffe://abc.consul", "https://example.com/svc/x",
      "spiffe://abc.consul/ns/default/dc/dc1/svc/terminating-gateway",
    ])
    #expect(credentials.certificateServices == ["api", "terminating-gateway"])
  }
}
