import ADSProtocol
import ResourceCache
import Testing

@Suite("Push order and warming")
struct PushOrderTests {
  let endpoints = resource(.endpoint, "c")
  let cluster = resource(.cluster, "c", refs: [ResourceKey(.endpoint, "c")])
  let routes = resource(.route, "r")
  let listener = resource(.listener, "l", refs: [ResourceKey(.route, "r")])

  @Test(
    "listeners and routes wait until every cluster is warm",
    arguments: [ADSProtocol.XDSVariant.stateOfTheWorld, .delta])
  func routesAfterWarmClusters(variant: XDSVariant) {
    var stream = ADSStreamState(variant: variant)
    let wildcard = { (type: ResourceType, nonce: String) in
      variant == .delta ? delta(type, nonce: nonce) : sotw(type, nonce: nonce)
    }
    let named = { (type: ResourceType, name: String, nonce: String) in
      variant == .delta ? delta(type, subscribe: nonce.isEmpty ? [name] : [], nonce: nonce)
        : sotw(type, [name], nonce: nonce)
    }
    _ = stream.receive(snapshot(cluster, endpoints, listener, routes))
    let cds = stream.receive(wildcard(.cluster, ""))
    #expect(cds.summary == ["CDS[c]"])
    #expect(stream.receive(wildcard(.listener, "")).responses.isEmpty, "LDS held: CDS in flight")
    let cdsAck = stream.receive(wildcard(.cluster, cds.nonce(.cluster)))
    #expect(cdsAck.responses.isEmpty, "LDS held: cluster c is not warm")
    let eds = stream.receive(named(.endpoint, "c", ""))
    #expect(eds.summary == ["EDS[c]"])
    let edsAck = stream.receive(named(.endpoint, "c", eds.nonce(.endpoint)))
    #expect(edsAck.summary == ["LDS[l]"])
    let lds = stream.receive(wildcard(.listener, edsAck.nonce(.listener)))
    #expect(lds.responses.isEmpty)
    #expect(stream.receive(named(.route, "r", "")).summary == ["RDS[r]"])
  }

  @Test("a changed cluster is followed by its endpoints even when they did not change")
  func endpointsFollowClusterChange() {
    var stream = ADSStreamState(variant: .stateOfTheWorld)
    _ = stream.receive(snapshot(cluster, endpoints))
    let cds = stream.receive(sotw(.cluster))
    _ = stream.receive(sotw(.cluster, nonce: cds.nonce(.cluster)))
    let eds = stream.receive(sotw(.endpoint, ["c"]))
    _ = stream.receive(sotw(.endpoint, ["c"], nonce: eds.nonce(.endpoint)))
    let changed = resource(.cluster, "c", "v2", refs: [ResourceKey(.endpoint, "c")])
    #expect(stream.receive(snapshot(changed, endpoints)).summary == ["CDS[c]", "EDS[c]"])
  }

  @Test("responses in one step follow the push order")
  func order() {
    var stream = ADSStreamState(variant: .delta)
    for type in [ResourceType.route, .secret, .endpoint] {
      _ = stream.receive(delta(type, subscribe: ["x"]))
    }
    let all = snapshot(resource(.route, "x"), resource(.secret, "x"), resource(.endpoint, "x"))
    let step = stream.receive(all)
    #expect(step.summary == ["EDS[x]", "SDS[x]"], "routes wait while endpoints are in flight")
    #expect(stream.receive(delta(.endpoint, nonce: step.nonce(.endpoint))).summary == ["RDS[x]"])
  }
}
