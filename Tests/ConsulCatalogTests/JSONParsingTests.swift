import ConsulCatalog
import Foundation
import Testing

/// The one-pass JSON parser reads what Foundation's JSONDecoder reads, to the same values, and
/// refuses what is not JSON with where and why. (The consul-answers fuzz target compares both
/// on every input it generates.)
@Suite("JSON parsing")
struct JSONParsingTests {
  static let documents = [
    #"{"a": [1, -2.5, 3e2, 0, -0.125E-3], "b": {"c": null, "d": true, "e": false}, "f": ""}"#,
    #"["\"quoted\" \\ \/ \b\f\n\r\t", "\u00e9\u4e2d\ud83d\ude00", "plain ascii", "naïve 中文 😀"]"#,
    #"  {"Service": {"ID": "web", "Meta": {"k": "v"}, "Port": 8080, "Tags": []}, "Checks": [{}]}  "#,
    "[]", "{}", "0", "\"x\"", "null", "[[[[[[1]]]]]]", "12345678901234567890", "1.7976931348623157e308",
  ]

  @Test("same values as JSONDecoder", arguments: documents)
  func agrees(text: String) throws {
    let reference = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    #expect(try JSONValue(parsing: Data(text.utf8)) == reference)
  }

  @Test("the example catalog file reads the same either way")
  func exampleCatalog() throws {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../envoy-configs/catalog.json")
    let data = try Data(contentsOf: path.standardized)
    #expect(try JSONValue(parsing: data) == JSONDecoder().decode(JSONValue.self, from: data))
  }

  static let broken: [(String, String)] = [
    ("", "unexpected end"), ("{", "expected a key"), (#"{"a" 1}"#, "expected ':'"), ("[1,]", "unexpected character"),
    ("[1 2]", "expected ','"), ("01", "leading zero"), ("1.", "digits expected"), ("-", "unexpected character"),
    ("tru", "unknown literal"), (#""abc"#, "unterminated string"), ("\"a\u{01}\"", "control character"),
    (#""\x""#, "unknown escape"), (#""\ud800""#, "lone surrogate"), (#""\u12zz""#, "bad hex digit"), (#""\u12""#, "short"), ("1e999", "out of range"),
    ("{} {}", "after the value"),
  ]

  @Test("refuses what is not JSON, saying where and why", arguments: broken)
  func refuses(text: String, reason: String) {
    #expect {
      try JSONValue(parsing: Data(text.utf8))
    } throws: { error in
      "\(error)".contains(reason)
    }
  }

  @Test("a deferred array's elements are delimited exactly: each one's text parses to what a full parse reads", arguments: documents.map { "{\"x\": 1, \"list\": [\($0), \($0)], \"y\": [\($0)]}" } + [
    #"{"list": [], "nested": {"list": [1]}}"#, #"{"list": ["a]\"}", {"b": "[{"}, 3, true, null]}"#, #"{"list": {"not": "an array"}}"#,
  ])
  func deferred(text: String) throws {
    let data = Data(("  " + text).utf8).dropFirst(2)  // a slice: offsets are the data's own indices
    let full = try JSONValue(parsing: data)
    let (value, elements) = try JSONValue.parse(data, deferring: ["list"])
    guard let expected = full["list"]?.array else {
      #expect(elements.isEmpty)
      #expect(value == full)
      return
    }
    #expect(value["list"] == .array([]))
    #expect(value["nested"] == full["nested"] && value["y"] == full["y"])
    #expect(try elements["list", default: []].map { try JSONValue(parsing: data[$0]) } == expected)
  }

  @Test("a deferred array that is not JSON fails either the parse or its element's own parse", arguments: [
    #"{"list": [1,]}"#, #"{"list": [{"a": }]}"#, #"{"list": [1 2]}"#, #"{"list": [{"a": "b]}"#, #"{"list": [tru]}"#, #"{"list": [{]}]}"#,
  ])
  func deferredBroken(text: String) {
    let data = Data(text.utf8)
    let refused = (try? JSONValue.parse(data, deferring: ["list"])).map { _, elements in
      elements["list", default: []].contains { (try? JSONValue(parsing: data[$0])) == nil }
    } ?? true
    #expect(refused)
  }

  @Test("nesting deeper than 512 levels is refused, not a stack overflow")
  func deep() {
    let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(throws: JSONParseError.self) { try JSONValue(parsing: Data(text.utf8)) }
    let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
    #expect(throws: Never.self) { try JSONValue(parsing: Data(fine.utf8)) }
  }
}

/// Keys are looked up the way Consul matches them: ignoring case and underscores.
@Suite("JSON keys")
struct JSONKeyTests {
  @Test("a key is found under every spelling Consul accepts, and only under those")
  func spellings() {
    let body = JSONValue.object(["LocalBindPort": .number(1), "Meta": .object(["k": .string("v")]), "_x@": .null])
    for key in ["LocalBindPort", "local_bind_port", "LOCALBINDPORT", "localbindport", "Local_Bind_Port_"] {
      #expect(body[key] == .number(1), "\(key)")
    }
    for key in ["LocalBindPor", "LocalBindPorts", "LocalBindPort1", "Loca1BindPort", "meta_x", "`x@", "_X`"] {
      #expect(body[key] == nil, "\(key)")
    }
    #expect(body["x@"] == .null)
    #expect(body["META"]?["k"] == .string("v"))
    let unicode = JSONValue.object(["Ünïcode": .bool(true)])
    #expect(unicode["ünïcode"] == .bool(true))
  }

  @Test("small objects (scanned) and large ones (hashed) answer alike; an exact spelling wins", arguments: [2, 8, 9, 40])
  func sizes(count: Int) {
    var members: [String: JSONValue] = ["local_bind_port": .number(2), "LocalBindPort": .number(1)]
    for index in members.count..<count { members["Filler\(index)"] = .null }
    let body = JSONValue.object(members)
    #expect(body["LocalBindPort"] == .number(1))
    #expect(body["local_bind_port"] == .number(2))
    #expect(body["localBindPort"] != nil)
    #expect(body["Filler"] == nil)
    #expect(body["Port"] == nil)
  }
}

@Suite("JSON repeated keys")
struct JSONRepeatedKeyTests {
  @Test("a key repeated in one object keeps its last value, as Consul's Go decoder does, and is counted")
  func lastWins() throws {
    let (value, repeated) = try JSONValue.parse(Data(#"{"CreateIndex": 26, "a": {"b": 1, "b": 2}, "CreateIndex": 24}"#.utf8))
    #expect(value["CreateIndex"] == .number(24))
    #expect(value["a"]?["b"] == .number(2))
    #expect(repeated == 2)
    #expect(try JSONValue.parse(Data(#"{"a": 1, "b": {"a": 2}}"#.utf8)).repeatedKeys == 0)
  }

  /// Foundation's JSONDecoder does not check the value of a key it has already seen (it read
  /// crash-47dcc4ee… in the consul-answers fuzz corpus); Go's decoder, like ours, checks it all.
  @Test("a repeated key's value must still be valid JSON", arguments: [
    #"{"a": 1, "a": 05}"#, #"{"a": 1, "a": [05]}"#, #"{"a": 1, "a": "\q"}"#,
  ])
  func shadowedValueIsChecked(text: String) {
    #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(text.utf8)) }
  }

  /// Foundation's readers accept `5` followed by NULs (crash-3aa2e8b5… in the fuzz corpus); a
  /// raw NUL is never valid JSON.
  @Test("a raw NUL byte is refused, after a value or inside a string; so is a trailing comma")
  func rawNULRefused() {
    for bytes: [UInt8] in [[0x35, 0, 0, 0, 0], [0x35, 0, 0x78], [0x22, 0x61, 0, 0x22]] {
      #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(bytes)) }
    }
    for text in [#"{"ID": "a",}"#, "[1,]"] {
      #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(text.utf8)) }
    }
  }
}
