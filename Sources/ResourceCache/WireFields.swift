import Foundation

/// Reads length-delimited fields straight from protobuf wire bytes, so the few names a resource
/// refers to (its RDS route, its SDS secrets) are found without decoding the messages that hold
/// them back into Swift values. The bytes are ones this process encoded.
enum WireFields {
  /// The payloads of length-delimited field `number`, in order; stops at the first malformed byte.
  static func payloads(_ number: Int, in bytes: Data) -> [Data] {
    let found = bytes.withUnsafeBytes { raw in Self.ranges(number, in: raw) }
    return found.map { bytes[bytes.startIndex + $0.lowerBound..<bytes.startIndex + $0.upperBound] }
  }

  /// The last payload of the field (a singular field's value), as text.
  static func string(_ number: Int, in bytes: Data) -> String? {
    payloads(number, in: bytes).last.map { String(decoding: $0, as: UTF8.self) }
  }

  private static func ranges(_ number: Int, in raw: UnsafeRawBufferPointer) -> [Range<Int>] {
    var found: [Range<Int>] = []
    var position = 0
    func varint() -> UInt64? {
      var value: UInt64 = 0
      var shift: UInt64 = 0
      while position < raw.count, shift < 64 {
        let byte = raw[position]
        position += 1
        value |= UInt64(byte & 0x7F) << shift
        if byte & 0x80 == 0 { return value }
        shift += 7
      }
      return nil
    }
    while position < raw.count, let tag = varint() {
      let skip: Int
      switch tag & 7 {
      case 0:
        guard varint() != nil else { return found }
        continue
      case 1: skip = 8
      case 5: skip = 4
      case 2:
        guard let length = varint(), length <= UInt64(raw.count - position) else { return found }
        if Int(tag >> 3) == number { found.append(position..<position + Int(length)) }
        skip = Int(length)
      default: return found  // groups: never encoded here
      }
      guard skip <= raw.count - position else { return found }
      position += skip
    }
    return found
  }
}
