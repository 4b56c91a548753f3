import Crypto

/// Everything one proxy should have, across all resource types, at one moment.
///
/// A snapshot is immutable and consistent: every endpoint set, route configuration and secret that
/// a cluster or listener refers to is inside it, so Envoy never waits on something that will not
/// come. Type versions are content hashes, so rebuilding the same configuration gives an equal
/// snapshot and setting it again pushes nothing.
public struct Snapshot: Sendable, Equatable {
  private let byType: [ResourceType: [String: EncodedResource]]
  private let versions: [ResourceType: String]

  public init(_ resources: [EncodedResource]) throws(SnapshotError) {
    var keyed: [ResourceKey: EncodedResource] = [:]
    keyed.reserveCapacity(resources.count)
    for resource in resources where keyed.updateValue(resource, forKey: ResourceKey(resource.type, resource.name)) != nil {
      throw SnapshotError(.duplicateName, "two \(resource.type) resources are named \(resource.name)")
    }
    try self.init(keyed, reusing: nil)
  }

  /// Resources keyed by their own type and name.
  /// - Parameter previous: the proxy's last snapshot: a type whose resources are all the same
  ///   keeps its table and version as they were, without building or hashing them again (a
  ///   change usually touches one or two types of a proxy).
  public init(_ resources: [ResourceKey: EncodedResource], reusing previous: Snapshot?) throws(SnapshotError) {
    var grouped = [[EncodedResource]](repeating: [], count: ResourceType.allCases.count)
    for resource in resources.values { grouped[resource.type.rawValue].append(resource) }
    var byType: [ResourceType: [String: EncodedResource]] = [:]
    var versions: [ResourceType: String] = [:]
    /// Types whose table was built here (all of them without a previous snapshot).
    var rebuilt = Set<ResourceType>()
    for type in ResourceType.allCases {
      let list = grouped[type.rawValue]
      // Names are distinct (they are keys): as many, all found with their versions, is the same.
      if let previous, let kept = previous.byType[type] ?? (list.isEmpty ? [:] : nil), kept.count == list.count,
        list.allSatisfy({ kept[$0.name] == $0 })
      {
        if !kept.isEmpty { byType[type] = kept }
        versions[type] = previous.versions[type]
        continue
      }
      var table: [String: EncodedResource] = [:]
      table.reserveCapacity(list.count)
      for resource in list { table[resource.name] = resource }
      if !table.isEmpty { byType[type] = table }
      versions[type] = Self.typeVersion(table)
      rebuilt.insert(type)
    }
    // A reference between two kept tables still resolves, as it did in the previous snapshot.
    var missing: [String] = []
    for type in ResourceType.allCases where !rebuilt.isEmpty {  // nothing rebuilt: nothing to check
      let checksAll = rebuilt.contains(type)
      for resource in grouped[type.rawValue] {
        for reference in resource.references
        where (checksAll || rebuilt.contains(reference.type)) && byType[reference.type]?[reference.name] == nil {
          missing.append("\(resource.type)/\(resource.name) refers to missing \(reference)")
        }
      }
    }
    guard missing.isEmpty else {
      throw SnapshotError(.missingReference, missing.sorted().joined(separator: "; "))
    }
    self.byType = byType
    self.versions = versions
  }

  /// The resources of one type, by name.
  public func resources(_ type: ResourceType) -> [String: EncodedResource] { byType[type] ?? [:] }

  public subscript(key: ResourceKey) -> EncodedResource? { byType[key.type]?[key.name] }

  /// Changes whenever any resource of the type changes; the state-of-the-world `version_info`.
  public func version(_ type: ResourceType) -> String { versions[type]! }

  public var count: Int { byType.values.reduce(0) { $0 + $1.count } }

  public static func == (lhs: Self, rhs: Self) -> Bool { lhs.versions == rhs.versions }

  /// The content hash of `name NUL version LF` for every resource, in name order.
  private static func typeVersion(_ resources: [String: EncodedResource]) -> String {
    var hash = SHA256()
    for (var name, resource) in resources.sorted(by: { $0.key < $1.key }) {
      var version = resource.version
      name.withUTF8 { hash.update(bufferPointer: UnsafeRawBufferPointer($0)) }
      hash.update(data: [0])
      version.withUTF8 { hash.update(bufferPointer: UnsafeRawBufferPointer($0)) }
      hash.update(data: [0x0A])
    }
    return ContentHash.hex(hash.finalize())
  }
}

/// Why a snapshot could not be built.
public struct SnapshotError: Error, Equatable, CustomStringConvertible {
  public enum Code: Sendable, Equatable {
    case duplicateName
    case missingReference
  }
  public let code: Code
  public let message: String

  init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }
}
