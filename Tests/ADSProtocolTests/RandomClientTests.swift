import ADSProtocol
import Foundation
import ResourceCache
import TestSupport
import Testing

/// A simulated client drives a stream through random snapshots, subscription changes and
/// ACKs; once it has answered everything, it must hold exactly what the last snapshot offers
/// for what it subscribes to. (The stream skips planning a type whose version it already
/// planned: a skip that misses a change fails here.)
@Suite("Random client")
struct RandomClientTests {
  @Test("a client that ACKs everything ends up holding the last snapshot", arguments: [XDSVariant.stateOfTheWorld, .delta])
  func converges(variant: XDSVariant) {
    for seed in 1...40 {
      var random = SplitMix(seed: UInt64(seed) * 31 + (variant == .delta ? 7 : 0))
      var client = Client(variant: variant)
      var stream = ADSStreamState(variant: variant)
      var current = Self.randomSnapshot(&random)
      for type in Client.types { client.handle(stream.receive(client.initialRequest(type, &random))) }
      client.handle(stream.receive(current))
      for _ in 0..<60 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0:
          current = Self.randomSnapshot(&random)
          client.handle(stream.receive(current))
        case 1:
          // Endpoints stay subscribed (Envoy asks for every cluster's): a route list changes.
          client.handle(stream.receive(client.resubscribe(.route, &random)))
        default:
          if let request = client.ack(&random) { client.handle(stream.receive(request)) }
        }
      }
      var rounds = 0
      while let request = client.ack(&random), rounds < 100 {
        client.handle(stream.receive(request))
        rounds += 1
      }
      #expect(client.inFlight.isEmpty, "seed \(seed): still waiting for answers")
      for type in Client.types {
        let offered = current.resources(type).filter { Client.wildcard(type) || client.names[type, default: []].contains($0.key) }
          .mapValues(\.version)
        let held = client.held[type, default: [:]]
        if variant == .delta || type.isFullState {
          #expect(held == offered, "seed \(seed), \(type): holds \(held.keys.sorted()), offered \(offered.keys.sorted())")
        } else {
          // State of the world never deletes endpoints or routes; what is offered must be held.
          #expect(offered.allSatisfy { held[$0.key] == $0.value }, "seed \(seed), \(type): \(held) vs \(offered)")
        }
        #expect(stream.known(type) == held, "seed \(seed), \(type): the stream's view differs from the client's")
      }
    }
  }

  /// Clusters c1-c3 (each with its endpoints), endpoints e1-e3, listener l1 with route r1 or r2;
  /// each resource in one of two contents, some left out.
  static func randomSnapshot(_ random: inout SplitMix) -> Snapshot {
    var resources: [EncodedResource] = []
    func content() -> String { Bool.random(using: &random) ? "v1" : "v2" }
    for index in 1...3 where Int.random(in: 0..<4, using: &random) > 0 {
      resources.append(resource(.endpoint, "e\(index)", content()))
      resources.append(resource(.cluster, "c\(index)", content(), refs: [ResourceKey(.endpoint, "e\(index)")]))
    }
    if Bool.random(using: &random) {
      let route = "r\(Int.random(in: 1...2, using: &random))"
      resources.append(resource(.route, route, content()))
      resources.append(resource(.listener, "l1", content(), refs: [ResourceKey(.route, route)]))
    }
    if Bool.random(using: &random) { resources.append(resource(.route, "r3", content())) }
    return try! Snapshot(resources)
  }

  /// What the client holds, subscribes to and awaits an answer for, per type.
  struct Client {
    static let types: [ResourceType] = [.cluster, .endpoint, .listener, .route]
    static func wildcard(_ type: ResourceType) -> Bool { type.isFullState }
    static let pool: [ResourceType: [String]] = [.endpoint: ["e1", "e2", "e3"], .route: ["r1", "r2", "r3"]]

    let variant: XDSVariant
    var names: [ResourceType: Set<String>] = [:]
    var held: [ResourceType: [String: String]] = [:]
    var inFlight: [ResourceType: PlannedResponse] = [:]
    var lastNonce: [ResourceType: String] = [:]

    init(variant: XDSVariant) { self.variant = variant }

    mutating func initialRequest(_ type: ResourceType, _ random: inout SplitMix) -> ClientRequest {
      if !Self.wildcard(type) { names[type] = type == .endpoint ? Set(Self.pool[type]!) : randomNames(type, &random) }
      let list = Array(names[type, default: []]).sorted()
      return variant == .delta ? delta(type, subscribe: list) : sotw(type, list)
    }

    func randomNames(_ type: ResourceType, _ random: inout SplitMix) -> Set<String> {
      Set(Self.pool[type, default: []].filter { _ in Bool.random(using: &random) })
    }

    /// A new list of names (state of the world: naming the latest nonce, so also an answer).
    mutating func resubscribe(_ type: ResourceType, _ random: inout SplitMix) -> ClientRequest {
      let old = names[type, default: []]
      let new = randomNames(type, &random)
      names[type] = new
      if variant == .delta {
        for gone in old.subtracting(new) { held[type]?[gone] = nil }
        return delta(type, subscribe: new.subtracting(old).sorted(), unsubscribe: old.subtracting(new).sorted())
      }
      let nonce = lastNonce[type] ?? ""
      if let response = inFlight[type], response.nonce == nonce { accept(response) }
      for gone in old.subtracting(new) { held[type]?[gone] = nil }
      return sotw(type, new.sorted(), nonce: nonce)
    }

    /// ACKs one response awaiting an answer, if any.
    mutating func ack(_ random: inout SplitMix) -> ClientRequest? {
      guard let type = inFlight.keys.sorted(by: { $0.rawValue < $1.rawValue }).randomElement(using: &random),
        let response = inFlight[type]
      else { return nil }
      accept(response)
      return variant == .delta
        ? delta(type, nonce: response.nonce) : sotw(type, Array(names[type, default: []]).sorted(), nonce: response.nonce)
    }

    mutating func accept(_ response: PlannedResponse) {
      inFlight[response.type] = nil
      var holding = held[response.type, default: [:]]
      if variant == .stateOfTheWorld && response.type.isFullState { holding = [:] }
      for resource in response.resources { holding[resource.name] = resource.version }
      for name in response.removed { holding[name] = nil }
      held[response.type] = holding
    }

    mutating func handle(_ step: StreamStep) {
      for response in step.responses {
        inFlight[response.type] = response
        lastNonce[response.type] = response.nonce
      }
    }
  }
}
