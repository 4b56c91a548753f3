public import Foundation
public import SwiftProtobuf
import Crypto

/// One Envoy resource, encoded once.
///
/// The bytes are the deterministic binary encoding of the message and the version is a content
/// hash of those bytes, so an unchanged resource keeps its version across restarts and snapshots.
/// `Data` is copy-on-write: every snapshot, stream and response that carries this value shares the
/// same buffer, so a resource sent to a thousand proxies is serialized exactly once.
public struct EncodedResource: Sendable, Hashable, CustomStringConvertible {
  /// The fields, in one shared box: snapshots, builders, streams and responses copy resources
  /// all the time, and a copy then costs one reference instead of one per field.
  private final class Storage: Sendable {
    let type: ResourceType
    let name: String
    let version: String
    let bytes: Data
    let references: Set<ResourceKey>

    init(type: ResourceType, name: String, version: String, bytes: Data, references: Set<ResourceKey>) {
      self.type = type
      self.name = name
      self.version = version
      self.bytes = bytes
      self.references = references
    }
  }
  private let storage: Storage

  public var type: ResourceType { storage.type }
  public var name: String { storage.name }
  public var version: String { storage.version }
  public var bytes: Data { storage.bytes }
  /// What Envoy must also receive before this resource can warm (EDS for an EDS cluster, RDS for
  /// a listener's connection manager, SDS for TLS contexts).
  public var references: Set<ResourceKey> { storage.references }

  public init(type: ResourceType, name: String, bytes: Data, references: Set<ResourceKey> = []) {
    storage = Storage(type: type, name: name, version: ContentHash.hex(of: bytes), bytes: bytes, references: references)
  }

  /// The resource as it travels inside a response; shares `bytes`.
  public var any: Google_Protobuf_Any {
    var any = Google_Protobuf_Any()
    any.typeURL = type.typeURL
    any.value = bytes
    return any
  }

  public static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.storage === rhs.storage || (lhs.type == rhs.type && lhs.name == rhs.name && lhs.version == rhs.version)
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(type)
    hasher.combine(name)
    hasher.combine(version)
  }

  public var description: String { "\(type)/\(name)@\(version)" }
}

extension Message {
  /// Deterministic binary encoding: map entries are sorted, so equal messages give equal bytes.
  public func deterministicBytes() throws -> Data {
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true
    return try serializedBytes(options: options)
  }
}

extension Google_Protobuf_Any {
  /// Packs a message with a deterministic encoding (`Any(message:)` would not guarantee one, and
  /// the outer resource's content hash depends on these bytes).
  public static func packing(_ message: some Message) throws -> Google_Protobuf_Any {
    var any = Google_Protobuf_Any()
    any.typeURL = "type.googleapis.com/\(type(of: message).protoMessageName)"
    any.value = try message.deterministicBytes()
    return any
  }
}

/// Short, stable content hashes for resource and snapshot versions.
public enum ContentHash {
  /// The first 128 bits of SHA-256, as hex: collision-free in practice and short in logs.
  public static func hex(of bytes: some DataProtocol) -> String {
    hex(SHA256.hash(data: bytes))
  }

  static func hex(_ digest: SHA256Digest) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return digest.withUnsafeBytes { raw in
      String(unsafeUninitializedCapacity: 32) { text in
        for index in 0..<16 {
          text[2 * index] = digits[Int(raw[index] >> 4)]
          text[2 * index + 1] = digits[Int(raw[index] & 0x0F)]
        }
        return 32
      }
    }
  }
}
