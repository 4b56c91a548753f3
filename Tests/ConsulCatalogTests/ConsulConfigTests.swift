import ConsulWatch
import Testing

@Suite("Consul client configuration and blocking-query rules")
struct ConsulConfigTests {
  func config(_ env: [String: String], file: String = "") throws -> ConsulConfig {
    try ConsulConfig(environment: env) { _ in file }
  }

  @Test("CONSUL_HTTP_ADDR forms")
  func addresses() throws {
    #expect(try config([:]).address == "127.0.0.1:8500")
    let https = try config(["CONSUL_HTTP_ADDR": "https://consul.example:8501/"])
    #expect(https.scheme == .https && https.address == "consul.example:8501")
    let unix = try config(["CONSUL_HTTP_ADDR": "unix:///var/run/consul.sock"])
    #expect(unix.scheme == .unix && unix.address == "/var/run/consul.sock")
    #expect(try config(["CONSUL_HTTP_ADDR": "10.0.0.1:8500", "CONSUL_HTTP_SSL": "true"]).scheme == .https)
    #expect(throws: ConsulError.self) { try config(["CONSUL_HTTP_ADDR": "ftp://x"]) }
  }

  @Test("token file wins over the token; TLS variables; booleans like Go's ParseBool")
  func tokensAndTLS() throws {
    let both = try config(["CONSUL_HTTP_TOKEN": "env", "CONSUL_HTTP_TOKEN_FILE": "/t"], file: " from-file\n")
    #expect(both.token == "from-file")
    let tls = try config([
      "CONSUL_CACERT": "/ca.pem", "CONSUL_CLIENT_CERT": "/c.pem", "CONSUL_CLIENT_KEY": "/k.pem",
      "CONSUL_TLS_SERVER_NAME": "server.dc1.consul:8501", "CONSUL_HTTP_SSL_VERIFY": "F",
    ])
    #expect(tls.caCertFile == "/ca.pem" && tls.tlsServerName == "server.dc1.consul" && !tls.verifyTLS)
    #expect(throws: ConsulError.self) { try config(["CONSUL_CLIENT_CERT": "/c.pem"]) }
    #expect(throws: ConsulError.self) { try config(["CONSUL_HTTP_SSL_VERIFY": "yes"]) }
  }

  @Test("index: reset when it goes backwards, never 0 after an answer")
  func index() {
    var index = BlockingIndex()
    #expect(index.value == 0)
    let accepted = index.received(0)
    #expect(accepted)
    #expect(index.value == 1, "0 would make the next request return at once, in a loop")
    index.received(42)
    let wentBackwards = !index.received(7)
    #expect(wentBackwards)
    #expect(index.value == 0)
  }

  @Test("backoff grows, is capped and jittered")
  func backoff() {
    var backoff = Backoff(base: .milliseconds(100), cap: .seconds(2))
    let first = backoff.next(random: 0)
    let second = backoff.next(random: 0)
    #expect(first == .milliseconds(50) && second == .milliseconds(100))
    for _ in 0..<20 { _ = backoff.next(random: 0.999) }
    #expect(backoff.next(random: 1) <= .seconds(2))
    backoff.succeeded()
    #expect(backoff.next(random: 0) == .milliseconds(50))
  }
}
