import ADSProtocol
import ResourceCache
import Testing

@Suite("State-of-the-world stream")
struct StateOfTheWorldStreamTests {
  let a = resource(.cluster, "a")
  let b = resource(.cluster, "b")

  @Test("first request waits for a snapshot, then gets the full set")
  func firstRequest() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    #expect(stream.receive(sotw(.cluster)).responses.isEmpty)
    let step = stream.receive(snapshot(a, b))
    #expect(step.summary == ["CDS[a,b]"])
    #expect(step.responses[0].version == snapshot(a, b).version(.cluster))
  }

  @Test("an empty wildcard set is still answered so Envoy can finish initialising")
  func emptyWildcardAnswered() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(snapshot(resource(.endpoint, "e")))
    let cds = stream.receive(sotw(.cluster))
    #expect(cds.summary == ["CDS[]"])
    #expect(stream.receive(sotw(.listener)).responses.isEmpty, "listeners wait for clusters")
    #expect(stream.receive(sotw(.cluster, nonce: cds.nonce(.cluster))).summary == ["LDS[]"])
  }

  @Test("ACK sends nothing more; an identical snapshot sends nothing")
  func ackIsQuiet() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(sotw(.cluster))
    let first = stream.receive(snapshot(a, b))
    let ack = stream.receive(sotw(.cluster, nonce: first.nonce(.cluster)))
    #expect(ack.responses.isEmpty)
    #expect(ack.events == [.acknowledged(.cluster, nonce: "1", version: snapshot(a, b).version(.cluster))])
    #expect(stream.receive(snapshot(a, b)).responses.isEmpty)
  }

  @Test("a NACK keeps the last good state and the rejected content is never resent")
  func nackNeverResends() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(sotw(.cluster))
    let first = stream.receive(snapshot(a))
    _ = stream.receive(sotw(.cluster, nonce: first.nonce(.cluster)))
    let bad = resource(.cluster, "a", "broken")
    let push = stream.receive(snapshot(bad))
    #expect(push.summary == ["CDS[a]"])
    let nack = stream.receive(sotw(.cluster, nonce: push.nonce(.cluster), nack: "invalid"))
    #expect(nack.responses.isEmpty)
    #expect(nack.events.count == 1)
    guard case .rejected(.cluster, _, _, "invalid") = nack.events[0] else {
      Issue.record("expected a rejection, got \(nack.events)")
      return
    }
    #expect(stream.known(.cluster) == ["a": a.version])
    // The same content again, and the client repeating its request: still nothing.
    #expect(stream.receive(snapshot(bad)).responses.isEmpty)
    #expect(stream.receive(sotw(.cluster, nonce: push.nonce(.cluster))).responses.isEmpty)
    // Newer content is sent.
    #expect(stream.receive(snapshot(resource(.cluster, "a", "fixed"))).summary == ["CDS[a]"])
  }

  @Test("a stale nonce is ignored, including its subscription")
  func staleNonce() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(snapshot(resource(.endpoint, "e1"), resource(.endpoint, "e2")))
    let first = stream.receive(sotw(.endpoint, ["e1"]))
    _ = stream.receive(sotw(.endpoint, ["e1"], nonce: first.nonce(.endpoint)))
    let second = stream.receive(sotw(.endpoint, ["e1", "e2"], nonce: first.nonce(.endpoint)))
    #expect(second.summary == ["EDS[e2]"])
    let stale = stream.receive(sotw(.endpoint, ["e1"], nonce: first.nonce(.endpoint)))
    #expect(stale.events == [.staleNonceIgnored(.endpoint, nonce: first.nonce(.endpoint))])
    #expect(stream.isInFlight(.endpoint))
  }

  @Test("a new snapshot while a response is in flight waits for the answer")
  func snapshotMidFlight() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(sotw(.cluster))
    let first = stream.receive(snapshot(a))
    #expect(stream.receive(snapshot(a, b)).responses.isEmpty)
    let ack = stream.receive(sotw(.cluster, nonce: first.nonce(.cluster)))
    #expect(ack.summary == ["CDS[a,b]"])
  }

  @Test("wildcard transitions: [] -> [*, a] -> [a] -> []")
  func wildcardTransitions() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(snapshot(a, b))
    let legacy = stream.receive(sotw(.cluster, []))
    #expect(legacy.summary == ["CDS[a,b]"])
    let explicit = stream.receive(sotw(.cluster, ["*", "a"], nonce: legacy.nonce(.cluster)))
    #expect(explicit.responses.isEmpty, "wildcard plus a covers the same set")
    let onlyA = stream.receive(sotw(.cluster, ["a"], nonce: legacy.nonce(.cluster)))
    #expect(onlyA.summary == ["CDS[a]"])
    _ = stream.receive(sotw(.cluster, ["a"], nonce: onlyA.nonce(.cluster)))
    let none = stream.receive(sotw(.cluster, [], nonce: onlyA.nonce(.cluster)))
    #expect(none.summary == ["CDS[]"], "after names were sent, [] means nothing, not wildcard")
  }

  @Test("a subscribed name that does not exist yet is sent when it appears")
  func nameAppearsLater() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(snapshot(resource(.route, "r1")))
    #expect(stream.receive(sotw(.route, ["r2"])).responses.isEmpty)
    #expect(stream.receive(snapshot(resource(.route, "r1"), resource(.route, "r2"))).summary == ["RDS[r2]"])
  }

  @Test("a removed cluster disappears from the next complete set")
  func removal() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(sotw(.cluster))
    let first = stream.receive(snapshot(a, b))
    _ = stream.receive(sotw(.cluster, nonce: first.nonce(.cluster)))
    #expect(stream.receive(snapshot(a)).summary == ["CDS[a]"])
  }

  @Test("a newly requested name is sent even if it was sent before")
  func resubscribe() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(snapshot(resource(.route, "r")))
    let first = stream.receive(sotw(.route, ["r"]))
    _ = stream.receive(sotw(.route, ["r"], nonce: first.nonce(.route)))
    _ = stream.receive(sotw(.route, [], nonce: first.nonce(.route)))
    #expect(stream.receive(sotw(.route, ["r"], nonce: first.nonce(.route))).summary == ["RDS[r]"])
  }
}
