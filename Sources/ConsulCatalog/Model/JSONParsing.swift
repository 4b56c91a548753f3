public import Foundation

/// Why a text is not JSON, with the byte offset.
public struct JSONParseError: Error, CustomStringConvertible {
  public let offset: Int
  public let reason: String
  public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
  /// Parses JSON text (RFC 8259) straight into a value, in one pass over the bytes.
  ///
  /// `JSONDecoder` with ``init(from:)`` tries each kind in turn and throws for every miss, which
  /// made reading a large catalog file or Consul answer cost several times the parse itself.
  /// Nesting deeper than 512 levels is refused rather than risking the stack. A key that appears
  /// twice in one object keeps its last value, as Consul's Go decoder does.
  public init(parsing data: Data) throws(JSONParseError) {
    self = try Self.parse(data).value
  }

  /// The value and how many keys repeated within their object (where decoders differ:
  /// Foundation's `JSONDecoder` keeps the first, Go and this parser the last).
  public static func parse(_ data: Data) throws(JSONParseError) -> (value: JSONValue, repeatedKeys: Int) {
    var parser = JSONParser()
    let result = data.withUnsafeBytes { raw in
      Result { () throws(JSONParseError) in try parser.document(raw.bindMemory(to: UInt8.self)) }
    }
    return (try result.get(), parser.repeatedKeys)
  }

  /// Parses a document, except that arrays under the top-level object's `deferred` keys are
  /// left empty in the value and where each of their elements lies in `data` is returned
  /// instead: a caller that keeps what it read from each element's text can then recognise an
  /// unchanged element by its bytes alone. Elements are only delimited here: one that is read
  /// must be parsed (and so checked) on its own.
  public static func parse(
    _ data: Data, deferring deferred: Set<String>
  ) throws(JSONParseError) -> (value: JSONValue, elements: [String: [Range<Data.Index>]]) {
    var parser = JSONParser()
    parser.deferred = deferred
    let result = data.withUnsafeBytes { raw in
      Result { () throws(JSONParseError) in try parser.document(raw.bindMemory(to: UInt8.self)) }
    }
    let value = try result.get()
    return (value, parser.spans.mapValues { $0.map { data.startIndex + $0.lowerBound..<data.startIndex + $0.upperBound } })
  }
}

private struct JSONParser {
  static let maximumDepth = 512
  var bytes = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
  var position = 0
  var depth = 0
  var repeatedKeys = 0
  /// Top-level keys whose arrays are delimited, not parsed, and where their elements are.
  var deferred: Set<String> = []
  var spans: [String: [Range<Int>]] = [:]

  mutating func document(_ input: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
    bytes = input
    let value = try self.value()
    skipWhitespace()
    guard position == bytes.count else { throw fail("unexpected text after the value") }
    return value
  }

  func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: position, reason: reason) }

  mutating func skipWhitespace() {
    while position < bytes.count {
      switch bytes[position] {
      case 0x20, 0x0A, 0x0D, 0x09: position += 1
      default: return
      }
    }
  }

  mutating func value() throws(JSONParseError) -> JSONValue {
    skipWhitespace()
    guard position < bytes.count else { throw fail("unexpected end of text") }
    switch bytes[position] {
    case UInt8(ascii: "{"): return try object()
    case UInt8(ascii: "["): return try array()
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try literal("true", .bool(true))
    case UInt8(ascii: "f"): return try literal("false", .bool(false))
    case UInt8(ascii: "n"): return try literal("null", .null)
    default: return .number(try number())
    }
  }

  mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
    let count = word.utf8CodeUnitCount
    guard position + count <= bytes.count,
      memcmp(bytes.baseAddress! + position, word.utf8Start, count) == 0
    else { throw fail("unknown literal") }
    position += count
    return value
  }

  mutating func enter() throws(JSONParseError) {
    depth += 1
    guard depth <= Self.maximumDepth else { throw fail("nested deeper than \(Self.maximumDepth) levels") }
  }

  mutating func object() throws(JSONParseError) -> JSONValue {
    try enter()
    position += 1
    var members: [String: JSONValue] = [:]
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
      position += 1
      depth -= 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
      let key = try string()
      skipWhitespace()
      guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
      position += 1
      skipWhitespace()
      let member: JSONValue
      if depth == 1, !deferred.isEmpty, deferred.contains(key), position < bytes.count, bytes[position] == UInt8(ascii: "[") {
        spans[key] = try elements()
        member = .array([])
      } else {
        member = try value()
      }
      if members.updateValue(member, forKey: key) != nil { repeatedKeys += 1 }
      skipWhitespace()
      guard position < bytes.count else { throw fail("unterminated object") }
      let next = bytes[position]
      position += 1
      if next == UInt8(ascii: "}") { break }
      guard next == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
    }
    depth -= 1
    return .object(members)
  }

  mutating func array() throws(JSONParseError) -> JSONValue {
    try enter()
    position += 1
    var elements: [JSONValue] = []
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
      position += 1
      depth -= 1
      return .array(elements)
    }
    while true {
      elements.append(try value())
      skipWhitespace()
      guard position < bytes.count else { throw fail("unterminated array") }
      let next = bytes[position]
      position += 1
      if next == UInt8(ascii: "]") { break }
      guard next == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
    }
    depth -= 1
    return .array(elements)
  }

  /// Where each element of the array at `position` lies.
  mutating func elements() throws(JSONParseError) -> [Range<Int>] {
    position += 1
    var spans: [Range<Int>] = []
    skipWhitespace()
    if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
      position += 1
      return spans
    }
    while true {
      skipWhitespace()
      let start = position
      try skipValue()
      spans.append(start..<position)
      skipWhitespace()
      guard position < bytes.count else { throw fail("unterminated array") }
      let next = bytes[position]
      position += 1
      if next == UInt8(ascii: "]") { return spans }
      guard next == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
    }
  }

  /// Moves past one value by matching brackets outside strings, without reading it (no
  /// recursion, so depth costs nothing here).
  mutating func skipValue() throws(JSONParseError) {
    var open = 0
    repeat {
      guard position < bytes.count else { throw fail("unexpected end of text") }
      switch bytes[position] {
      case UInt8(ascii: "\""):
        try skipString()
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        open += 1
        position += 1
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        guard open > 0 else { throw fail("unexpected '\(Character(Unicode.Scalar(bytes[position])))'") }
        open -= 1
        position += 1
      case 0x20, 0x0A, 0x0D, 0x09, UInt8(ascii: ","), UInt8(ascii: ":"):
        guard open > 0 else { throw fail("expected a value") }
        position += 1
      default:
        // A literal or number: up to the next delimiter.
        while position < bytes.count, !Self.delimits(bytes[position]) { position += 1 }
      }
    } while open > 0
  }

  /// Moves past a string (at its opening quote): `memchr` to each quote, which ends the string
  /// unless an odd run of backslashes escapes it. Strings are most of a catalog's bytes.
  mutating func skipString() throws(JSONParseError) {
    position += 1
    while true {
      guard position < bytes.count,
        let found = memchr(bytes.baseAddress! + position, Int32(UInt8(ascii: "\"")), bytes.count - position)
      else {
        position = bytes.count
        throw fail("unterminated string")
      }
      let quote = bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
      var backslashes = 0
      while quote - backslashes - 1 >= position, bytes[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
      position = quote + 1
      if backslashes % 2 == 0 { return }
    }
  }

  static func delimits(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x20, 0x0A, 0x0D, 0x09, UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "]"), UInt8(ascii: "}"),
      UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""):
      true
    default: false
    }
  }

  mutating func string() throws(JSONParseError) -> String {
    position += 1
    let start = position
    // The common case: no escapes, one copy.
    while position < bytes.count {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        position += 1
        return text
      }
      if byte == UInt8(ascii: "\\") { break }
      guard byte >= 0x20 else { throw fail("control character in a string") }
      position += 1
    }
    var scalars = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
    while position < bytes.count {
      let byte = bytes[position]
      position += 1
      switch byte {
      case UInt8(ascii: "\""):
        return String(decoding: scalars, as: UTF8.self)
      case UInt8(ascii: "\\"):
        guard position < bytes.count else { throw fail("unterminated escape") }
        let escape = bytes[position]
        position += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
        case UInt8(ascii: "b"): scalars.append(0x08)
        case UInt8(ascii: "f"): scalars.append(0x0C)
        case UInt8(ascii: "n"): scalars.append(0x0A)
        case UInt8(ascii: "r"): scalars.append(0x0D)
        case UInt8(ascii: "t"): scalars.append(0x09)
        case UInt8(ascii: "u"): scalars.append(contentsOf: Array(String(try unicodeEscape()).utf8))
        default: throw fail("unknown escape")
        }
      default:
        guard byte >= 0x20 else { throw fail("control character in a string") }
        scalars.append(byte)
      }
    }
    throw fail("unterminated string")
  }

  /// After `\u`: four hex digits, or a surrogate pair of two escapes.
  mutating func unicodeEscape() throws(JSONParseError) -> Character {
    let high = try hex4()
    if (0xD800..<0xDC00).contains(high) {
      guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
      else { throw fail("lone surrogate") }
      position += 2
      let low = try hex4()
      guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
      return Character(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!)
    }
    guard let scalar = Unicode.Scalar(high) else { throw fail("lone surrogate") }
    return Character(scalar)
  }

  mutating func hex4() throws(JSONParseError) -> UInt32 {
    guard position + 4 <= bytes.count else { throw fail("short \\u escape") }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let byte = bytes[position]
      let digit: UInt8
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
      default: throw fail("bad hex digit in \\u escape")
      }
      value = value << 4 | UInt32(digit)
      position += 1
    }
    return value
  }

  /// `-? int frac? exp?` as RFC 8259 spells it, converted with `strtod`'s rules.
  mutating func number() throws(JSONParseError) -> Double {
    let start = position
    func digits() -> Int {
      let first = position
      while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
        position += 1
      }
      return position - first
    }
    if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
    let integerStart = position
    let integerDigits = digits()
    guard integerDigits > 0 else { throw fail("unexpected character") }
    if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") { throw fail("leading zero") }
    if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
      position += 1
      guard digits() > 0 else { throw fail("digits expected after '.'") }
    }
    if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
      position += 1
      if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
        position += 1
      }
      guard digits() > 0 else { throw fail("digits expected in the exponent") }
    }
    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    guard let value = Double(text), value.isFinite else { throw fail("number out of range") }
    return value
  }
}
