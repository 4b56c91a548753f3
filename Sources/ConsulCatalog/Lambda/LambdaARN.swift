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

  public init(_ text: String) throws(CatalogError) {
    // Checked byte by byte: every valid part is ASCII, and a catalog holds thousands of ARNs.
    let parts = text.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
    func fail(_ why: String) -> CatalogError { CatalogError("invalid Lambda ARN \"\(text)\": \(why)") }
    func string(_ index: Int) -> String { String(Substring(parts[index])) }
    guard parts.count == 7 || parts.count == 8, parts[0].elementsEqual("arn".utf8) else {
      throw fail("expected arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]")
    }
    guard parts[1].elementsEqual("aws".utf8) || parts[1].starts(with: "aws-".utf8) else {
      throw fail("unknown partition \(string(1))")
    }
    guard parts[2].elementsEqual("lambda".utf8) else { throw fail("service is \(string(2)), not lambda") }
    guard Self.isRegion(parts[3]) else { throw fail("\"\(string(3))\" is not an AWS region") }
    guard parts[4].count == 12, parts[4].allSatisfy(Self.isDigit) else {
      throw fail("the account id must be 12 digits")
    }
    guard parts[5].elementsEqual("function".utf8) else { throw fail("resource type is \(string(5)), not function") }
    guard (1...64).contains(parts[6].count), parts[6].allSatisfy(Self.isNameCharacter) else {
      throw fail("function name must be 1-64 letters, digits, - or _")
    }
    if parts.count == 8 {
      let qualifier = parts[7]
      guard qualifier.elementsEqual("$LATEST".utf8)
        || ((1...128).contains(qualifier.count) && qualifier.allSatisfy(Self.isNameCharacter))
      else { throw fail("invalid version or alias \"\(string(7))\"") }
    }
    partition = string(1)
    region = string(3)
    account = string(4)
    function = string(6)
    qualifier = parts.count == 8 ? string(7) : nil
  }

  public var description: String {
    "arn:\(partition):lambda:\(region):\(account):function:\(function)" + (qualifier.map { ":\($0)" } ?? "")
  }

  /// e.g. us-east-1, eu-central-2, us-gov-west-1, cn-north-1.
  static func isRegion(_ text: Substring.UTF8View) -> Bool {
    let parts = text.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
    guard (3...4).contains(parts.count), parts[0].count == 2, let last = parts.last,
      !last.isEmpty, last.allSatisfy(isDigit)
    else { return false }
    return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) } }
  }

  static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

  static func isNameCharacter(_ byte: UInt8) -> Bool {
    isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || byte == UInt8(ascii: "-")
      || byte == UInt8(ascii: "_")
  }
}
