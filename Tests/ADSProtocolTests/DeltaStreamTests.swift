import ADSProtocol
import ResourceCache
import Testing

@Suite("Delta stream")
struct DeltaStreamTests {
  @Test("subscribe, report a missing name, unsubscribe, then the name appears")
  func subscribeUnsubscribe() {
    var stream = ADSStreamState(variant: .delta)
    _ = stream.receive(snapshot(resource(.endpoint, "e1")))
    let first = stream.receive(delta(.endpoint, subscribe: ["e1"]))
    #expect(first.summary == ["EDS[e1]"])
    _ = stream.receive(delta(.endpoint, nonce: first.nonce(.endpoint)))
    let missing = stream.receive(delta(.endpoint, subscribe: ["e2"]))
    #expect(missing.summary == ["EDS[]-[e2]"], "a missing subscribed name is reported at once")
    _ = stream.receive(delta(.endpoint, nonce: missing.nonce(.endpoint)))
    #expect(stream.receive(delta(.endpoint, unsubscribe: ["e1"])).responses.isEmpty)
    let appears = stream.receive(snapshot(resource(.endpoint, "e1"), resource(.endpoint, "e2")))
    #expect(appears.summary == ["EDS[e2]"], "remembered and sent; e1 is no longer wanted")
  }

  @Test("subscription changes are honoured whatever the nonce")
  func staleNonceDoesNotBlockSubscriptions() {
    var stream = ADSStreamState(variant: .delta)
    _ = stream.receive(snapshot(resource(.endpoint, "e1"), resource(.endpoint, "e2")))
    let first = stream.receive(delta(.endpoint, subscribe: ["e1"]))
    _ = stream.receive(delta(.endpoint, nonce: first.nonce(.endpoint)))
    let step = stream.receive(delta(.endpoint, subscribe: ["e2"], nonce: "999"))
    #expect(step.summary == ["EDS[e2]"])
  }

  @Test("reconnect with initial_resource_versions sends only what differs")
  func reconnect() {
    let a = resource(.cluster, "a")
    let b = resource(.cluster, "b", "v2")
    var stream = ADSStreamState(variant: .delta)
    _ = stream.receive(snapshot(a, b))
    let step = stream.receive(
      delta(.cluster, initial: ["a": a.version, "b": "old", "gone": "old"]))
    #expect(step.summary == ["CDS[b]-[gone]"])
  }

  @Test("a reconnect that holds everything current gets an empty first answer")
  func reconnectUpToDate() {
    let a = resource(.cluster, "a")
    var stream = ADSStreamState(variant: .delta)
    _ = stream.receive(snapshot(a))
    #expect(stream.receive(delta(.cluster, initial: ["a": a.version])).summary == ["CDS[]"])
  }

  @Test("deleting a resource sends removed_resources; the rejected removal is not retried")
  func removal() {
    let a = resource(.cluster, "a")
    let b = resource(.cluster, "b")
    var stream = ADSStreamState(variant: .delta)
    _ = stream.receive(snapshot(a, b))
    let first = stream.receive(delta(.cluster))
    _ = stream.receive(delta(.cluster, nonce: first.nonce(.cluster)))
    let removal = stream.receive(snapshot(a))
    #expect(removal.summary == ["CDS[]-[b]"])
    _ = stream.receive(delta(.cluster, nonce: removal.nonce(.cluster), nack: "no"))
    #expect(stream.receive(snapshot(a)).responses.isEmpty)
  }

  @Test("wildcard plus a name: unsubscribing the name resends what the wildcard still covers")
  func wildcardAndName() {
    let a = resource(.cluster, "a")
    var stream = ADSStreamState(variant: .delta)
    _ = stream.receive(snapshot(a))
    let first = stream.receive(delta(.cluster, subscribe: ["*", "a"]))
    _ = stream.receive(delta(.cluster, nonce: first.nonce(.cluster)))
    #expect(stream.receive(delta(.cluster, unsubscribe: ["a"])).summary == ["CDS[a]"])
  }

  @Test("NACK: no resend until newer content")
  func nack() {
    var stream = ADSStreamState(variant: .delta)
    _ = stream.receive(snapshot(resource(.listener, "l", "bad")))
    let first = stream.receive(delta(.listener))
    let nack = stream.receive(delta(.listener, nonce: first.nonce(.listener), nack: "Invalid ARN"))
    #expect(nack.responses.isEmpty)
    #expect(stream.receive(delta(.listener, subscribe: [], nonce: first.nonce(.listener))).responses.isEmpty)
    #expect(stream.receive(snapshot(resource(.listener, "l", "good"))).summary == ["LDS[l]"])
  }
}
