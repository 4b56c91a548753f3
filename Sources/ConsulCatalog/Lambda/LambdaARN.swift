/// A Lambda function ARN: `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
///
/// Checked more strictly than Envoy does (Envoy accepts any 7-part ARN and signs it as Lambda),
/// so a typo disables one service with a reason instead of producing 403s at run time.
public struct LambdaARN: Sendable, Hashable, CustomStringConvertible {
  public let partition: String
  public let region: String
  public let account: String
  public let function: String
  public let qualifier: String?
  /// The ARN as written (every part is checked verbatim, so it is also the canonical form);
  /// kept because every proxy that signs for the function names it, and equality and hashing
  /// need only it.
  public let description: String

  public init(_ text: String) throws(CatalogError) {
    // Checked byte by byte on one copy of the bytes: every valid part is ASCII, and a catalog
    // holds thousands of ARNs.
    let bytes = Array(text.utf8)
    var ends: [Int] = []
    ends.reserveCapacity(9)
    for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: ":") {
      ends.append(offset)
      if ends.count > 8 { break }
    }
    ends.append(bytes.count)
    func part(_ index: Int) -> ArraySlice<UInt8> { bytes[(index == 0 ? 0 : ends[index - 1] + 1)..<ends[index]] }
    func fail(_ why: String) -> CatalogError { CatalogError("invalid Lambda ARN \"\(text)\": \(why)") }
    func string(_ index: Int) -> String { String(decoding: part(index), as: UTF8.self) }
    guard ends.count == 7 || ends.count == 8, part(0).elementsEqual("arn".utf8) else {
      throw fail("expected arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]")
    }
    guard part(1).elementsEqual("aws".utf8) || part(1).starts(with: "aws-".utf8) else {
      throw fail("unknown partition \(string(1))")
    }
    guard part(2).elementsEqual("lambda".utf8) else { throw fail("service is \(string(2)), not lambda") }
    guard Self.isRegion(part(3)) else { throw fail("\"\(string(3))\" is not an AWS region") }
    guard part(4).count == 12, part(4).allSatisfy(Self.isDigit) else {
      throw fail("the account id must be 12 digits")
    }
    guard part(5).elementsEqual("function".utf8) else { throw fail("resource type is \(string(5)), not function") }
    guard (1...64).contains(part(6).count), part(6).allSatisfy(Self.isNameCharacter) else {
      throw fail("function name must be 1-64 letters, digits, - or _")
    }
    if ends.count == 8 {
      let qualifier = part(7)
      guard qualifier.elementsEqual("$LATEST".utf8)
        || ((1...128).contains(qualifier.count) && qualifier.allSatisfy(Self.isNameCharacter))
      else { throw fail("invalid version or alias \"\(string(7))\"") }
    }
    partition = string(1)
    region = string(3)
    account = string(4)
    function = string(6)
    qualifier = ends.count == 8 ? string(7) : nil
    description = text
  }

  public static func == (lhs: Self, rhs: Self) -> Bool { lhs.description == rhs.description }
  public func hash(into hasher: inout Hasher) { hasher.combine(description) }

  /// e.g. us-east-1, eu-central-2, us-gov-west-1, cn-north-1.
  static func isRegion(_ text: ArraySlice<UInt8>) -> Bool {
    var words = 0
    var rest = text
    while true {
      let end = rest.firstIndex(of: UInt8(ascii: "-")) ?? rest.endIndex
      let word = rest[..<end]
      words += 1
      if end == rest.endIndex { return (3...4).contains(words) && !word.isEmpty && word.allSatisfy(isDigit) }
      guard words < 4, !word.isEmpty, words > 1 || word.count == 2,
        word.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) })
      else { return false }
      rest = rest[(end + 1)...]
    }
  }

  static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

  static func isNameCharacter(_ byte: UInt8) -> Bool {
    isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || byte == UInt8(ascii: "-")
      || byte == UInt8(ascii: "_")
  }
}
