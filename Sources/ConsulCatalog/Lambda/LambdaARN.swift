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
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    func fail(_ why: String) -> CatalogError { CatalogError("invalid Lambda ARN \"\(text)\": \(why)") }
    guard parts.count == 7 || parts.count == 8, parts[0] == "arn" else {
      throw fail("expected arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]")
    }
    guard parts[1] == "aws" || parts[1].hasPrefix("aws-") else { throw fail("unknown partition \(parts[1])") }
    guard parts[2] == "lambda" else { throw fail("service is \(parts[2]), not lambda") }
    guard Self.isRegion(parts[3]) else { throw fail("\"\(parts[3])\" is not an AWS region") }
    guard parts[4].count == 12, parts[4].allSatisfy(\.isASCIIDigit) else {
      throw fail("the account id must be 12 digits")
    }
    guard parts[5] == "function" else { throw fail("resource type is \(parts[5]), not function") }
    guard (1...64).contains(parts[6].count), parts[6].allSatisfy(Self.isNameCharacter) else {
      throw fail("function name must be 1-64 letters, digits, - or _")
    }
    if parts.count == 8 {
      let qualifier = parts[7]
      guard qualifier == "$LATEST" || ((1...128).contains(qualifier.count) && qualifier.allSatisfy(Self.isNameCharacter))
      else { throw fail("invalid version or alias \"\(qualifier)\"") }
    }
    partition = parts[1]
    region = parts[3]
    account = parts[4]
    function = parts[6]
    qualifier = parts.count == 8 ? parts[7] : nil
  }

  public var description: String {
    "arn:\(partition):lambda:\(region):\(account):function:\(function)" + (qualifier.map { ":\($0)" } ?? "")
  }

  /// e.g. us-east-1, eu-central-2, us-gov-west-1, cn-north-1.
  static func isRegion(_ text: String) -> Bool {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard (3...4).contains(parts.count), parts[0].count == 2, let last = parts.last,
      !last.isEmpty, last.allSatisfy(\.isASCIIDigit)
    else { return false }
    return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLowercase } }
  }

  static func isNameCharacter(_ c: Character) -> Bool {
    c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_")
  }
}

extension Character {
  var isASCIIDigit: Bool { isASCII && isNumber }
}
