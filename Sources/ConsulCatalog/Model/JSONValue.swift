/// Any JSON (or YAML) value, for Consul's free-form and case-insensitive bodies.
///
/// Consul matches keys of registration bodies case-insensitively and `/v1/config` accepts
/// PascalCase or snake_case; `Meta` and extension `Arguments` keep their keys verbatim. Decoding
/// into this type and reading with ``subscript(key:)`` gives exactly those rules.
public enum JSONValue: Sendable, Hashable, Codable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .null: try container.encodeNil()
    case .bool(let value): try container.encode(value)
    case .number(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    }
  }

  /// Looks a key up ignoring case and underscores (`LocalBindPort`, `local_bind_port`).
  public subscript(key: String) -> JSONValue? {
    guard case .object(let object) = self else { return nil }
    if let exact = object[key] { return exact }
    // A miss (an optional key) compares the keys only: no value is copied until one matches.
    var index = object.startIndex
    while index != object.endIndex {
      if Self.sameFolded(object.keys[index], key) { return object.values[index] }
      object.formIndex(after: &index)
    }
    return nil
  }

  static func fold(_ key: String) -> String { String(key.lowercased().filter { $0 != "_" }) }

  /// `fold(a) == fold(b)` without building either string: keys are ASCII in practice, and a
  /// miss (an optional key) compares against every key of the object.
  static func sameFolded(_ a: String, _ b: String) -> Bool { same(a, b, skippingUnderscores: true) }

  /// `a.lowercased() == b.lowercased()` without building either string.
  static func sameIgnoringCase(_ a: String, _ b: String) -> Bool { same(a, b, skippingUnderscores: false) }

  /// Compares ASCII letters case-insensitively (and, if asked, without underscores); lowercasing
  /// keeps an ASCII prefix's length, so the first ASCII difference decides, and a non-ASCII byte
  /// falls back to comparing the folded strings.
  @inline(__always)
  private static func same(_ a: String, _ b: String, skippingUnderscores skip: Bool) -> Bool {
    var left = a.utf8.makeIterator()
    var right = b.utf8.makeIterator()
    while true {
      var x = left.next()
      while skip, x == UInt8(ascii: "_") { x = left.next() }
      var y = right.next()
      while skip, y == UInt8(ascii: "_") { y = right.next() }
      guard let l = x, let r = y else { return x == nil && y == nil }
      if l >= 0x80 || r >= 0x80 { return skip ? fold(a) == fold(b) : a.lowercased() == b.lowercased() }
      let letter = l | 0x20 >= UInt8(ascii: "a") && l | 0x20 <= UInt8(ascii: "z")
      if letter ? l | 0x20 != r | 0x20 : l != r { return false }
    }
  }

  public var string: String? { if case .string(let value) = self { value } else { nil } }
  public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
  public var int: Int? {
    if case .number(let value) = self, value == value.rounded(), abs(value) < 1e15 { Int(value) } else { nil }
  }
  public var double: Double? { if case .number(let value) = self { value } else { nil } }
  public var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
  public var object: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }
  public var isNull: Bool { self == .null }

  /// A number, or a string holding one: Consul reads proxy `Config` maps weakly typed
  /// (`"connect_timeout_ms": "1000"` works like `1000`).
  public var weakInt: Int? {
    if let int { return int }
    return string.flatMap { Int($0.filter { $0 != " " }) }
  }

  /// A boolean, or a string holding one (`"true"`, `"false"`).
  public var weakBool: Bool? {
    if let bool { return bool }
    switch string?.lowercased() {
    case "true": return true
    case "false": return false
    default: return nil
    }
  }

  /// This object with `overrides`' keys laid over it (keys compared as ``subscript(key:)`` does);
  /// a non-object on either side gives the other.
  public func overlaid(by overrides: JSONValue) -> JSONValue {
    guard var base = object else { return overrides.object == nil ? self : overrides }
    guard let top = overrides.object else { return self }
    // Linear: each base key found by its folded form, not by scanning every key per override.
    var byFold: [String: [String]] = [:]
    for key in base.keys { byFold[Self.fold(key), default: []].append(key) }
    for (key, value) in top {
      for existing in byFold[Self.fold(key)] ?? [] { base[existing] = nil }
      base[key] = value
    }
    return .object(base)
  }

  /// Short description of the JSON type, for error messages.
  public var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }
}
