import ArgumentParser
import Foundation
import Yams

/// JSON or YAML output for commands that print Envoy configuration.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  case json
  case yaml

  /// Renders canonical JSON text in this format.
  func render(_ json: String) throws -> String {
    self == .json ? json : try Self.yaml(json)
  }

  private static func yaml(_ json: String) throws -> String {
    try Yams.serialize(node: yamlNode(try JSONSerialization.jsonObject(with: Data(json.utf8))), sortKeys: true)
  }

  /// JSON's numbers and booleans both arrive as NSNumber; its type code tells them apart.
  private static func yamlNode(_ value: Any) -> Node {
    switch value {
    case let object as [String: Any]:
      return Node.mapping(Node.Mapping(object.map { (Node($0.key), yamlNode($0.value)) }))
    case let array as [Any]:
      return Node.sequence(Node.Sequence(array.map(yamlNode)))
    case let string as String:
      return Node(string, Tag(.str), string.isEmpty || Double(string) != nil || ["true", "false", "null"].contains(string) ? .singleQuoted : .any)
    case let number as NSNumber:
      switch String(cString: number.objCType) {
      case "c", "B": return Node(number.boolValue ? "true" : "false", Tag(.bool))
      case "d", "f": return Node("\(number.doubleValue)", Tag(.float))
      default: return Node("\(number.int64Value)", Tag(.int))
      }
    default:
      return Node("null", Tag(.null))
    }
  }
}
