public import Foundation
import Yams

/// The embedded default source: a JSON or YAML file holding what would be in Consul.
///
/// ```json
/// {"datacenter": "dc1",
///  "registrations": [ <PUT /v1/catalog/register bodies> ],
///  "config_entries": [ <PUT /v1/config bodies> ],
///  "kv": {"lambda-xds/services/<service>": {"timeout": "30s"}},
///  "datacenters": {"dc2": {"registrations": [...], "config_entries": [...]}}}
/// ```
///
/// `datacenters` describes other WAN-federated datacenters as their own Consul would: their mesh
/// gateways and the instances that upstreams with `Datacenter` reach.
///
/// Each object is exactly what Consul's API takes, so the same objects can be moved into a real
/// Consul with `curl -X PUT --data @obj.json $CONSUL_HTTP_ADDR/v1/catalog/register`.
public enum CatalogFile {
  public static func snapshot(contentsOf path: String) throws(CatalogError) -> CatalogSnapshot {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw CatalogError("cannot read catalog file \(path): \(error.localizedDescription)")
    }
    return try snapshot(data: data, name: path)
  }

  public static func snapshot(data: Data, name: String) throws(CatalogError) -> CatalogSnapshot {
    let document = try Document(data: data, name: name)
    var snapshot = CatalogSnapshot(
      datacenter: document.datacenter, registrations: document.registrations, configEntries: document.configEntries,
      trustDomain: document.trustDomain, lambdaSettings: document.lambdaSettings)
    document.applyDatacenters(to: &snapshot)
    return snapshot
  }

  /// The file's parts, checked but not yet read as Consul objects.
  struct Document {
    var datacenter: String
    var trustDomain: String?
    var registrations: [JSONValue]
    var configEntries: [JSONValue]
    /// From `kv`: Consul KV keys and values as `consul kv put` would store them.
    var lambdaSettings: [String: JSONValue]
    /// From `datacenters`: the other datacenters, and what in them could not be read.
    var remote: [String: RemoteDatacenter] = [:]
    var remoteRejected: [String] = []

    /// Sets the other datacenters (after the snapshot's own objects are read).
    func applyDatacenters(to snapshot: inout CatalogSnapshot) {
      snapshot.datacenters = remote.isEmpty ? [] : ([datacenter] + remote.keys).sorted()
      snapshot.remote = remote
      snapshot.rejectedObjects += remoteRejected
    }

    init(data: Data, name: String) throws(CatalogError) {
      let document: JSONValue
      do {
        document = try Self.isJSON(data) ? JSONValue(parsing: data) : YAMLDecoder().decode(JSONValue.self, from: data)
      } catch {
        throw CatalogError("catalog file \(name) is not valid JSON or YAML: \(error)")
      }
      try self.init(document, name: name)
    }

    /// The document with, where it is JSON, its registrations and config entries as the text
    /// of each (``CatalogFileReader`` recognises unchanged ones by it); else as values.
    static func reading(data: Data, name: String) throws(CatalogError) -> (Document, registrations: [Body], entries: [Body]) {
      guard isJSON(data) else {
        let document = try Document(data: data, name: name)
        return (document, document.registrations.map(Body.init), document.configEntries.map(Body.init))
      }
      let parsed: (value: JSONValue, elements: [String: [Range<Data.Index>]])
      do {
        parsed = try JSONValue.parse(data, deferring: ["registrations", "config_entries"])
      } catch {
        throw CatalogError("catalog file \(name) is not valid JSON or YAML: \(error)")
      }
      let document = try Document(parsed.value, name: name)
      func bodies(_ key: String, else values: [JSONValue]) -> [Body] {
        parsed.elements[key].map { $0.map { Body(text: data[$0]) } } ?? values.map(Body.init)
      }
      return (document, bodies("registrations", else: document.registrations), bodies("config_entries", else: document.configEntries))
    }

    private static func isJSON(_ data: Data) -> Bool {
      data.first { !$0.isWhitespace }.map { $0 == UInt8(ascii: "{") } ?? false
    }

    private init(_ document: JSONValue, name: String) throws(CatalogError) {
      guard document.object != nil else { throw CatalogError("catalog file \(name) must hold an object") }
      func list(_ key: String) throws(CatalogError) -> [JSONValue] {
        guard let value = document[key], !value.isNull else { return [] }
        guard let array = value.array else { throw CatalogError("catalog file \(name): \(key) must be a list") }
        return array
      }
      datacenter = document["datacenter"]?.string ?? "dc1"
      trustDomain = document["trust_domain"]?.string
      try CatalogLimits.check(datacenter, "catalog file \(name): datacenter")
      if let trustDomain { try CatalogLimits.check(trustDomain, "catalog file \(name): trust_domain") }
      registrations = try list("registrations")
      configEntries = try list("config_entries")
      guard document["kv"]?.isNull ?? true || document["kv"]?.object != nil else {
        throw CatalogError("catalog file \(name): kv must be an object of keys and values")
      }
      lambdaSettings = LambdaSettingsKV.settings((document["kv"]?.object ?? [:]).map { ($0.key, $0.value) })
      guard let datacenters = document["datacenters"], !datacenters.isNull else { return }
      guard let others = datacenters.object else {
        throw CatalogError("catalog file \(name): datacenters must be an object of datacenter names")
      }
      for (other, body) in others.sorted(by: { $0.key < $1.key }) {
        try CatalogLimits.check(other, "catalog file \(name): a datacenter name")
        guard other != datacenter else { throw CatalogError("catalog file \(name): datacenters names this datacenter, \(other)") }
        guard body.object != nil, body["registrations"]?.array != nil || body["registrations"] == nil,
          body["config_entries"]?.array != nil || body["config_entries"] == nil
        else { throw CatalogError("catalog file \(name): datacenter \(other) must hold registrations and config_entries lists") }
        let catalog = CatalogSnapshot(
          datacenter: other, registrations: body["registrations"]?.array ?? [],
          configEntries: body["config_entries"]?.array ?? [], trustDomain: trustDomain)
        remote[other] = RemoteDatacenter(catalog)
        remoteRejected += catalog.rejectedObjects.map { "datacenter \(other): \($0)" }
      }
    }
  }
}

extension UInt8 {
  fileprivate var isWhitespace: Bool { self == 0x20 || self == 0x0A || self == 0x0D || self == 0x09 }
}
