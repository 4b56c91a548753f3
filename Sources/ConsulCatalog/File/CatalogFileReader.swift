public import Foundation

/// Reads successive versions of one catalog file, parsing again only the registrations and
/// config entries whose text changed and applying only the instances that changed to the last
/// snapshot, so an edit of one service in a file of ten thousand costs that service. An edit
/// inside one object is found by comparing the texts from both ends; any other edit costs one
/// pass over the file's bytes to delimit and hash its objects. The snapshot is the one
/// ``CatalogFile/snapshot(data:name:)`` builds from the same text.
public struct CatalogFileReader: Sendable {
  public let name: String
  private var last: CatalogSnapshot?
  private var lastData: Data?
  /// Parse results by body, for the bodies of the last version only (rebuilt from `layout`
  /// when `bodiesCurrent` is false: a one-object edit does not keep them).
  private var registrations: [CatalogFile.Body: Parsed<ServiceInstance>] = [:]
  private var entries: [CatalogFile.Body: Parsed<ConfigEntry>] = [:]
  private var bodiesCurrent = true
  /// Instance id -> the registration that defines it (the last one naming it), in `last`; an
  /// unchanged registration's parse result is the very same box, so comparing costs nothing.
  private var defining: [String: Parsed<ServiceInstance>] = [:]
  /// The last version's config entries, in file order, and what applying them rejected: when a
  /// version repeats them (an edit of registrations only), they are not applied again.
  private var entryBodies: [CatalogFile.Body] = []
  private var entryRejections: [String] = []
  private var registrationRejections: [String] = []
  private var datacenterRejections: [String] = []
  /// Where the last version's objects lie and what each read as, in file order (JSON only).
  private var layout: CatalogFile.Layout?
  private var registrationResults: [Parsed<ServiceInstance>] = []
  private var entryResults: [Parsed<ConfigEntry>] = []

  public init(name: String) {
    self.name = name
  }

  /// The snapshot of this version of the file and what changed since the last one read; nil
  /// when the catalog is the same. A broken file throws and leaves the reader as it was.
  public mutating func read(_ data: Data) throws(CatalogError) -> (CatalogSnapshot, CatalogChange)? {
    if let lastData, let edit = layout?.edit(from: lastData, to: data) {
      guard case .one(let list, let index, let span) = edit else { return nil }
      // A text that is one JSON value can stand in for the object it replaces; any other
      // edit is read in full (which also says what is wrong with a broken file).
      if let value = try? JSONValue(parsing: data[data.startIndex + span.lowerBound..<data.startIndex + span.upperBound]) {
        return list == .registrations
          ? readRegistration(index, value, span, data) : readEntry(index, value, span, data)
      }
    }
    if !bodiesCurrent { restoreBodies() }
    if data == lastData { return nil }
    let (document, registrationBodies, entryBodies) = try CatalogFile.Document.reading(data: data, name: name)
    var parsedRegistrations: [CatalogFile.Body: Parsed<ServiceInstance>] = [:]
    parsedRegistrations.reserveCapacity(registrationBodies.count)
    var ordered: [Parsed<ServiceInstance>] = []
    ordered.reserveCapacity(registrationBodies.count)
    var chosen: [String: Parsed<ServiceInstance>] = [:]
    chosen.reserveCapacity(registrationBodies.count)
    for body in registrationBodies {
      let result = try known(body, parsedRegistrations, registrations, data, ServiceInstance.init(registration:))
      parsedRegistrations[body] = result
      ordered.append(result)
      if let instance = result.value { chosen[instance.id] = result }
    }
    let rejected = Self.rejections(ordered)
    let layout = CatalogFile.Layout(registrations: registrationBodies, entries: entryBodies, in: data)
    let incremental = last.map { $0.datacenter == document.datacenter && $0.trustDomain == document.trustDomain } ?? false
    let sameEntries = incremental && entryBodies == self.entryBodies && document.lambdaSettings == last?.lambdaSettings
    if sameEntries, var previous = last, document.remote == previous.remote {
      // Only registrations changed. The last snapshot is let go first, so the edit changes its
      // tables in place instead of copying them whole, and the change is found in the services
      // the edit touched (their instance lists as they were are kept for it).
      let rejectedBefore = previous.rejectedObjects
      last = nil
      let before = applyInstances(Self.updates(from: defining, to: chosen), to: &previous)
      previous.rejectedObjects = rejected + entryRejections
      document.applyDatacenters(to: &previous)
      let change = CatalogChange(instancesBefore: before, in: previous)
      remember(previous, data, parsedRegistrations, entries, chosen, entryBodies, entryRejections)
      remember(layout, ordered, entryResults, rejected, document.remoteRejected)
      return change.isEmpty && previous.rejectedObjects == rejectedBefore ? nil : (previous, change)
    }
    var parsedEntries: [CatalogFile.Body: Parsed<ConfigEntry>] = [:]
    var orderedEntries: [Parsed<ConfigEntry>] = []
    for body in entryBodies {
      let result = try known(body, parsedEntries, entries, data, ConfigEntry.init)
      parsedEntries[body] = result
      orderedEntries.append(result)
    }
    var snapshot: CatalogSnapshot
    if incremental, var previous = last {
      _ = applyInstances(Self.updates(from: defining, to: chosen), to: &previous)
      snapshot = previous
    } else {
      snapshot = CatalogSnapshot(
        datacenter: document.datacenter, trustDomain: document.trustDomain, instances: chosen.values.compactMap(\.value))
    }
    let rejectedEntries = snapshot.apply(
      orderedEntries.map(\.result), previousLambdas: last?.lambdas ?? [:], settings: document.lambdaSettings)
    snapshot.rejectedObjects = rejected + rejectedEntries
    document.applyDatacenters(to: &snapshot)
    let change = CatalogChange(from: last, to: snapshot)
    let unchanged = change.isEmpty && snapshot == last
    remember(snapshot, data, parsedRegistrations, parsedEntries, chosen, entryBodies, rejectedEntries)
    remember(layout, ordered, orderedEntries, rejected, document.remoteRejected)
    // Other bytes, same catalog (spacing, order of keys): nothing to publish.
    return unchanged ? nil : (snapshot, change)
  }

  /// Object `index` of the registrations, alone, changed to `value`.
  private mutating func readRegistration(
    _ index: Int, _ value: JSONValue, _ span: Range<Int>, _ data: Data
  ) -> (CatalogSnapshot, CatalogChange)? {
    let old = registrationResults[index]
    let new = Parsed(Result { () throws(CatalogError) in try ServiceInstance(registration: value) })
    registrationResults[index] = new
    // The ids whose defining registration may have moved: the one it named, the one it names.
    var updates: [(String, Parsed<ServiceInstance>?)] = []
    for id in Set([old.value?.id, new.value?.id].compactMap { $0 }) {
      if defining[id] !== old, new.value?.id != id { continue }
      let definer = old.value?.id == id && new.value?.id == id && defining[id] === old
        ? new : registrationResults.last { $0.value?.id == id }
      if definer !== defining[id] { updates.append((id, definer)) }
    }
    if old.value == nil || new.value == nil { registrationRejections = Self.rejections(registrationResults) }
    var snapshot = last!
    let rejectedBefore = snapshot.rejectedObjects
    last = nil
    let before = applyInstances(updates, to: &snapshot)
    for (id, definer) in updates { defining[id] = definer }
    snapshot.rejectedObjects = registrationRejections + entryRejections + datacenterRejections
    let change = CatalogChange(instancesBefore: before, in: snapshot)
    moved(.registrations, index, span, data, snapshot)
    return change.isEmpty && snapshot.rejectedObjects == rejectedBefore ? nil : (snapshot, change)
  }

  /// Object `index` of the config entries, alone, changed to `value`: every entry is applied
  /// again (from what each read as), the registrations stay as they are.
  private mutating func readEntry(
    _ index: Int, _ value: JSONValue, _ span: Range<Int>, _ data: Data
  ) -> (CatalogSnapshot, CatalogChange)? {
    let old = entryResults[index]
    let new = Parsed(Result { () throws(CatalogError) in try ConfigEntry(value) })
    entryResults[index] = new
    // One service's defaults, edited where they are the ones in force: that service alone.
    if case .success(.serviceDefaults(let before)) = old.result, case .success(.serviceDefaults(let after)) = new.result,
      before.name == after.name, last!.serviceDefaults[before.name] == before,
      !entryResults[(index + 1)...].contains(where: { $0.value?.serviceDefaultsName == before.name })
    {
      var snapshot = last!
      last = nil
      let change = snapshot.replaceServiceDefaults(after)
      moved(.entries, index, span, data, snapshot)
      return change.isEmpty ? nil : (snapshot, change)
    }
    let previous = last!
    var snapshot = previous
    entryRejections = snapshot.apply(
      entryResults.map(\.result), previousLambdas: previous.lambdas, settings: previous.lambdaSettings)
    snapshot.rejectedObjects = registrationRejections + entryRejections + datacenterRejections
    let change = CatalogChange(from: previous, to: snapshot)
    let unchanged = change.isEmpty && snapshot == previous
    moved(.entries, index, span, data, snapshot)
    return unchanged ? nil : (snapshot, change)
  }

  /// Keeps a one-object edit: the new text and where its objects now lie.
  private mutating func moved(
    _ list: CatalogFile.Layout.List, _ index: Int, _ span: Range<Int>, _ data: Data, _ snapshot: CatalogSnapshot
  ) {
    layout!.replace(list, index: index, with: span)
    last = snapshot
    lastData = data
    bodiesCurrent = false
  }

  /// The body tables and entry list of the last version, from its text and layout.
  private mutating func restoreBodies() {
    guard let layout, let lastData else { return }
    func body(_ span: Range<Int>) -> CatalogFile.Body {
      CatalogFile.Body(text: lastData[lastData.startIndex + span.lowerBound..<lastData.startIndex + span.upperBound])
    }
    registrations = Dictionary(zip(layout.registrations.map(body), registrationResults), uniquingKeysWith: { $1 })
    entryBodies = layout.entries.map(body)
    entries = Dictionary(zip(entryBodies, entryResults), uniquingKeysWith: { $1 })
    bodiesCurrent = true
  }

  /// "registration #N: why" for each registration that could not be read, in file order.
  private static func rejections(_ results: [Parsed<ServiceInstance>]) -> [String] {
    results.enumerated().compactMap { index, parsed in
      guard case .failure(let error) = parsed.result else { return nil }
      return "registration #\(index + 1): \(error)"
    }
  }

  /// Each id whose defining registration differs between two tables: gone ones first (nil).
  private static func updates(
    from old: [String: Parsed<ServiceInstance>], to new: [String: Parsed<ServiceInstance>]
  ) -> [(String, Parsed<ServiceInstance>?)] {
    old.keys.filter { new[$0] == nil }.map { ($0, nil) } + new.filter { old[$0.key] !== $0.value }.map { ($0.key, $0.value) }
  }

  /// Brings the last version's snapshot to new defining registrations (nil: the id is gone).
  /// - Returns: each touched service's instance list as it was before.
  private func applyInstances(
    _ updates: [(String, Parsed<ServiceInstance>?)], to snapshot: inout CatalogSnapshot
  ) -> [String: [ServiceInstance]] {
    var before: [String: [ServiceInstance]] = [:]
    func keep(_ service: String) {
      if before[service] == nil { before[service] = snapshot.instancesByService[service] ?? [] }
    }
    for (id, parsed) in updates {
      if let replaced = snapshot.instances[id] { keep(replaced.name) }
      if let instance = parsed?.value {
        keep(instance.name)
        snapshot.upsert(instance)
      } else {
        snapshot.removeInstance(id: id)
      }
    }
    return before
  }

  /// Keeps what the next version is compared with.
  private mutating func remember(
    _ snapshot: CatalogSnapshot, _ data: Data, _ parsedRegistrations: [CatalogFile.Body: Parsed<ServiceInstance>],
    _ parsedEntries: [CatalogFile.Body: Parsed<ConfigEntry>], _ chosen: [String: Parsed<ServiceInstance>],
    _ entryBodies: [CatalogFile.Body], _ entryRejections: [String]
  ) {
    last = snapshot
    lastData = data
    registrations = parsedRegistrations
    entries = parsedEntries
    defining = chosen
    self.entryBodies = entryBodies
    self.entryRejections = entryRejections
    bodiesCurrent = true
  }

  /// Keeps, in file order, what the next one-object edit is read against.
  private mutating func remember(
    _ layout: CatalogFile.Layout?, _ registrationResults: [Parsed<ServiceInstance>], _ entryResults: [Parsed<ConfigEntry>],
    _ registrationRejections: [String], _ datacenterRejections: [String]
  ) {
    self.layout = layout
    self.registrationResults = registrationResults
    self.entryResults = entryResults
    self.registrationRejections = registrationRejections
    self.datacenterRejections = datacenterRejections
  }

  /// What a body reads as: from this version, else the last, else parsed now. An object that
  /// is not JSON fails the whole file, with the error a full parse of it gives.
  private func known<T: Sendable>(
    _ body: CatalogFile.Body, _ current: [CatalogFile.Body: Parsed<T>],
    _ previous: [CatalogFile.Body: Parsed<T>], _ data: Data, _ read: (JSONValue) throws(CatalogError) -> T
  ) throws(CatalogError) -> Parsed<T> {
    if let result = current[body] ?? previous[body] { return result }
    let value: JSONValue
    do {
      value = try body.value()
    } catch {
      _ = try CatalogFile.Document(data: data, name: name)
      throw CatalogError("catalog file \(name) is not valid JSON or YAML: \(error)")
    }
    return Parsed(Result { () throws(CatalogError) in try read(value) })
  }

  /// A body's parse result, boxed: the tables of them are rebuilt on every read, and copying a
  /// box costs one reference where an instance's value costs one per field.
  final class Parsed<Value: Sendable>: Sendable {
    let result: Result<Value, CatalogError>
    init(_ result: Result<Value, CatalogError>) { self.result = result }
    var value: Value? { try? result.get() }
  }
}

extension CatalogFile {
  /// A registration or config entry as a cache key, hashed once: its text where the file is
  /// JSON (an unchanged object is then found by its bytes, without parsing it), else its value.
  struct Body: Hashable, Sendable {
    enum Content: Equatable, Sendable {
      case text(Data)
      case value(JSONValue)
    }
    let content: Content
    let hash: Int

    init(text: Data) {
      content = .text(text)
      var hasher = Hasher()
      text.withUnsafeBytes { hasher.combine(bytes: $0) }
      hash = hasher.finalize()
    }

    init(_ value: JSONValue) {
      content = .value(value)
      hash = value.hashValue
    }

    func value() throws(JSONParseError) -> JSONValue {
      switch content {
      case .text(let text): try JSONValue(parsing: text)
      case .value(let value): value
      }
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.hash == rhs.hash && lhs.content == rhs.content }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
  }
}

extension ConfigEntry {
  fileprivate var serviceDefaultsName: String? {
    if case .serviceDefaults(let entry) = self { entry.name } else { nil }
  }
}

extension CatalogSnapshot {
  /// Replaces the service-defaults in force for one service (what ``apply(_:previousLambdas:settings:)``
  /// does for it when only that entry changed).
  mutating func replaceServiceDefaults(_ entry: ServiceDefaults) -> CatalogChange {
    let lambda = LambdaRegistration.parse(entry, inheritedProtocol: proxyDefaults.protocol, settings: lambdaSettings[entry.name])
    guard serviceDefaults[entry.name] != entry || lambdas[entry.name] != lambda else { return CatalogChange() }
    serviceDefaults[entry.name] = entry
    lambdas[entry.name] = lambda
    return CatalogChange(services: [entry.name])
  }

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
