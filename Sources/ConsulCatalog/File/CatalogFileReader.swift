public import Foundation

/// Reads successive versions of one catalog file, parsing again only the registrations and
/// config entries whose bodies changed and applying only the instances that changed to the last
/// snapshot, so an edit of one service in a file of ten thousand costs that service (plus one
/// pass over the file's text). The snapshot is the one ``CatalogFile/snapshot(data:name:)``
/// builds from the same text.
public struct CatalogFileReader: Sendable {
  public let name: String
  private var last: CatalogSnapshot?
  private var lastData: Data?
  /// Parse results by body, for the bodies of the last version only.
  private var registrations: [Body: Result<ServiceInstance, CatalogError>] = [:]
  private var entries: [Body: Result<ConfigEntry, CatalogError>] = [:]

  /// A body as a key, hashed once (it is looked up in two tables and stored in one).
  struct Body: Hashable {
    let value: JSONValue
    let hash: Int
    init(_ value: JSONValue) {
      self.value = value
      hash = value.hashValue
    }
    static func == (lhs: Self, rhs: Self) -> Bool { lhs.hash == rhs.hash && lhs.value == rhs.value }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
  }

  public init(name: String) {
    self.name = name
  }

  /// The snapshot of this version of the file and what changed since the last one read; nil
  /// when the catalog is the same. A broken file throws and leaves the reader as it was.
  public mutating func read(_ data: Data) throws(CatalogError) -> (CatalogSnapshot, CatalogChange)? {
    if data == lastData { return nil }
    let document = try CatalogFile.Document(data: data, name: name)
    var parsedRegistrations: [Body: Result<ServiceInstance, CatalogError>] = [:]
    var instances: [ServiceInstance] = []
    var rejected: [String] = []
    for (index, value) in document.registrations.enumerated() {
      let body = Body(value)
      let result = parsedRegistrations[body] ?? registrations[body] ?? Result { () throws(CatalogError) in
        try ServiceInstance(registration: value)
      }
      parsedRegistrations[body] = result
      switch result {
      case .success(let instance): instances.append(instance)
      case .failure(let error): rejected.append("registration #\(index + 1): \(error)")
      }
    }
    var parsedEntries: [Body: Result<ConfigEntry, CatalogError>] = [:]
    var configEntries: [Result<ConfigEntry, CatalogError>] = []
    for value in document.configEntries {
      let body = Body(value)
      let result = parsedEntries[body] ?? entries[body] ?? Result { () throws(CatalogError) in try ConfigEntry(value) }
      parsedEntries[body] = result
      configEntries.append(result)
    }
    var snapshot: CatalogSnapshot
    if var previous = last, previous.datacenter == document.datacenter, previous.trustDomain == document.trustDomain {
      let wanted = Dictionary(instances.map { ($0.id, $0) }, uniquingKeysWith: { _, later in later })
      for id in previous.instances.keys where wanted[id] == nil { previous.removeInstance(id: id) }
      for (id, instance) in wanted where previous.instances[id] != instance { previous.upsert(instance) }
      snapshot = previous
    } else {
      snapshot = CatalogSnapshot(
        datacenter: document.datacenter, trustDomain: document.trustDomain, instances: instances)
    }
    rejected += snapshot.apply(configEntries, previousLambdas: last?.lambdas ?? [:], settings: document.lambdaSettings)
    snapshot.rejectedObjects = rejected
    document.applyDatacenters(to: &snapshot)
    defer {
      last = snapshot
      lastData = data
      registrations = parsedRegistrations
      entries = parsedEntries
    }
    // Other bytes, same catalog (spacing, order of keys): nothing to publish.
    if snapshot == last { return nil }
    return (snapshot, CatalogChange(from: last, to: snapshot))
  }
}

extension CatalogSnapshot {
  /// Sets everything config entries decide (defaults, links, intentions, Lambda declarations)
  /// from parsed entries; a Lambda declaration is read again only where its entry changed.
  /// - Returns: the rejected entries, with why.
  mutating func apply(
    _ entries: [Result<ConfigEntry, CatalogError>], previousLambdas: [String: LambdaRegistration],
    settings: [String: JSONValue]
  ) -> [String] {
    var rejected: [String] = []
    var defaults: [String: ServiceDefaults] = [:]
    defaults.reserveCapacity(entries.count)
    var links: [String: [String]] = [:]
    var proxy = ProxyDefaults()
    var intents: [String: ServiceIntentions] = [:]
    var meshEntry = MeshConfig()
    var splits: [String: ServiceSplitter] = [:]
    var tls: [String: [String: OriginationTLS]] = [:]
    for (index, result) in entries.enumerated() {
      switch result {
      case .success(.serviceDefaults(let entry)): defaults[entry.name] = entry
      case .success(.terminatingGateway(let name, let services, let origination)):
        links[name] = services
        if !origination.isEmpty { tls[name] = origination }
      case .success(.proxyDefaults(let entry)): proxy = entry
      case .success(.serviceIntentions(let entry)): intents[entry.destination] = entry
      case .success(.mesh(let entry)): meshEntry = entry
      case .success(.serviceSplitter(let entry)): splits[entry.name] = entry
      case .success(.other): break
      case .failure(let error): rejected.append("config entry #\(index + 1): \(error)")
      }
    }
    var declared: [String: LambdaRegistration] = [:]
    declared.reserveCapacity(defaults.count)
    let inheritedChanged = proxy.protocol != proxyDefaults.protocol
    for (name, entry) in defaults {
      if !inheritedChanged, serviceDefaults[name] == entry, lambdaSettings[name] == settings[name] {
        if let kept = previousLambdas[name] { declared[name] = kept }
        continue
      }
      if let lambda = LambdaRegistration.parse(entry, inheritedProtocol: proxy.protocol, settings: settings[name]) {
        declared[name] = lambda
      }
    }
    if lambdaSettings != settings { lambdaSettings = settings }
    if serviceDefaults != defaults { serviceDefaults = defaults }
    if gatewayLinks != links { gatewayLinks = links }
    if proxyDefaults != proxy { proxyDefaults = proxy }
    if intentions != intents { intentions = intents }
    if mesh != meshEntry { mesh = meshEntry }
    if splitters != splits { splitters = splits }
    if gatewayTLS != tls { gatewayTLS = tls }
    if lambdas != declared { lambdas = declared }
    return rejected
  }
}
