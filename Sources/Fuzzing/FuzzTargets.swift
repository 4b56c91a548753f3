public import Foundation
import ADSProtocol
import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf
import Translation

/// What each fuzz target does with one input. The libFuzzer executables (`Fuzz/`,
/// `scripts/fuzz.sh`) call these, and a test replays every stored input through them, so a crash
/// the fuzzer found stays fixed.
///
/// Each must return for any input: no trap, no hang, nothing unbounded.
public enum FuzzTargets {
  public static let all: [String: @Sendable ([UInt8]) -> Void] = [
    "catalog-file": catalogFile,
    "consul-answers": consulAnswers,
    "lambda-declarations": lambdaDeclarations,
    "xds-requests": xdsRequests,
  ]

  /// A catalog file through parsing and a whole translation, every mesh service given a leaf.
  public static func catalogFile(_ bytes: [UInt8]) {
    guard let catalog = try? CatalogFile.snapshot(data: Data(bytes), name: "fuzz") else { return }
    translate(catalog)
  }

  /// One Consul answer read by every reader of Consul's answers, then as the catalog they build.
  public static func consulAnswers(_ bytes: [UInt8]) {
    let data = Data(bytes)
    let reference = try? JSONDecoder().decode(JSONValue.self, from: data)
    // Differential one way only: what the parser reads, Foundation reads to the same value (but
    // for a repeated key: Foundation keeps the first, Consul the last). Not the other way:
    // Foundation reads what JSON and Consul's Go decoder refuse (a trailing comma, NULs after a
    // value, a bad value under a repeated key: regressions crash-0cf00dd0, crash-3aa2e8b5,
    // crash-47dcc4ee).
    guard let parsed = try? JSONValue.parse(data) else { return }
    let body = parsed.value
    precondition(!bytes.contains(0), "the JSON parser read a raw NUL, which JSON never allows")
    precondition(reference == nil || parsed.repeatedKeys > 0 || reference == body, "the JSON parser and JSONDecoder disagree")
    _ = ConsulAnswers.serviceNames(body)
    _ = ConsulAnswers.trustDomain(fromRoots: body)
    _ = ConsulAnswers.rootsPEM(body)
    _ = ConsulAnswers.leaf(body)
    let catalog = CatalogSnapshot(
      datacenter: "dc1", registrations: ConsulAnswers.registrations(fromHealth: body),
      configEntries: ConsulAnswers.configEntries(body), trustDomain: ConsulAnswers.trustDomain(fromRoots: body) ?? "fuzz.consul",
      lambdaSettings: ConsulAnswers.lambdaSettings(fromKV: body))
    translate(catalog)
  }

  /// Lambda declarations: the input as an ARN and as an endpoint URL, and as a service-defaults
  /// entry (either form) parsed into a Lambda registration.
  public static func lambdaDeclarations(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? LambdaARN(text)
    _ = try? LambdaEndpoint(url: text)
    guard let body = try? JSONValue(parsing: Data(bytes)),
      case .serviceDefaults(let entry)? = try? ConfigEntry(body)
    else { return }
    _ = LambdaRegistration.parse(entry)
    _ = LambdaRegistration.parse(entry, inheritedProtocol: "http")
  }

  /// A sequence of xDS requests (state of the world or delta, by the first byte) and snapshot
  /// changes fed to one stream's state machine. Each later record is a kind byte, a length byte
  /// and that many bytes of a request.
  public static func xdsRequests(_ bytes: [UInt8]) {
    guard let first = bytes.first else { return }
    var stream = ADSStreamState(variant: first & 1 == 0 ? .stateOfTheWorld : .delta)
    var offset = 1
    while offset + 2 <= bytes.count {
      let kind = bytes[offset]
      let length = Int(bytes[offset + 1])
      offset += 2
      let record = Array(bytes[offset..<min(offset + length, bytes.count)])
      offset += length
      if kind & 3 == 3 {
        _ = stream.receive(snapshots[Int(kind >> 2) % snapshots.count])
        continue
      }
      let request: ClientRequest?
      if stream.variant == .stateOfTheWorld {
        request = (try? DiscoveryRequest(serializedBytes: record)).flatMap { try? ClientRequest($0) }
      } else {
        request = (try? DeltaDiscoveryRequest(serializedBytes: record)).flatMap { try? ClientRequest($0) }
      }
      if let request {
        let step = stream.receive(request)
        precondition(step.responses.count <= ResourceType.allCases.count, "more than one response in flight per type")
      }
    }
  }

  /// Three snapshots of a small proxy, sharing names, so a sequence can move between them.
  static let snapshots: [Snapshot] = {
    func cluster(_ name: String, version: UInt8) -> EncodedResource {
      EncodedResource(
        type: .cluster, name: name, bytes: Data([version]),
        references: [ResourceKey(.endpoint, name), ResourceKey(.secret, "leaf")])
    }
    func plain(_ type: ResourceType, _ name: String, _ version: UInt8, references: Set<ResourceKey> = []) -> EncodedResource {
      EncodedResource(type: type, name: name, bytes: Data([version]), references: references)
    }
    return [
      try! Snapshot([
        cluster("a", version: 1), plain(.endpoint, "a", 1), plain(.secret, "leaf", 1),
        plain(.listener, "l", 1, references: [ResourceKey(.route, "r")]), plain(.route, "r", 1),
      ]),
      try! Snapshot([
        cluster("a", version: 2), plain(.endpoint, "a", 1), cluster("b", version: 1), plain(.endpoint, "b", 1),
        plain(.secret, "leaf", 2), plain(.listener, "l", 2, references: [ResourceKey(.route, "r")]), plain(.route, "r", 2),
      ]),
      try! Snapshot([]),
    ]
  }()

  private static func translate(_ catalog: CatalogSnapshot) {
    var leaves: [String: MeshCertificates.Leaf] = [:]
    for service in catalog.servicesNeedingLeaves {
      leaves[service] = MeshCertificates.Leaf(certificatePEM: "certificate", privateKeyPEM: "key")
    }
    _ = Translator().translate(catalog, certificates: MeshCertificates(rootsPEM: "roots", leaves: leaves))
  }
}
