import ConsulCatalog
import Foundation
import TestSupport
import Testing

/// Reading a catalog file again after an edit, reusing what did not change, gives exactly the
/// snapshot a fresh read gives, and the change it reports is the difference of the two.
@Suite("Incremental catalog file reading")
struct CatalogFileReaderTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../TranslationTests/Fixtures/catalogs").standardized

  @Test("random edits of every golden catalog file", arguments: ["mesh-upstreams", "mesh-bad-input", "gated", "intentions", "invalid", "mesh-tproxy"])
  func randomEdits(name: String) throws {
    let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).json"))
    var document = try JSONValue(parsing: data)
    var reader = CatalogFileReader(name: name)
    var random = SplitMix(seed: UInt64(name.utf8.count) * 7919)
    var previous: CatalogSnapshot?
    for step in 0..<120 {
      if step > 0 { Self.edit(&document, &random) }
      let text = try JSONEncoder().encode(document)
      let fresh = try CatalogFile.snapshot(data: text, name: name)
      let read = try reader.read(text)
      if let (snapshot, change) = read {
        #expect(Bool(snapshot == fresh), "step \(step): the incremental read differs from a fresh read")
        #expect(change == CatalogChange(from: previous, to: fresh), "step \(step): wrong change")
        previous = snapshot
      } else {
        #expect(Bool(previous == fresh), "step \(step): an edit was reported as nothing new")
      }
    }
  }

  @Test(
    "edits inside one object, read from that object alone",
    arguments: ["mesh-upstreams", "mesh-bad-input", "gated", "intentions", "invalid", "mesh-tproxy", "mesh-datacenters"])
  func oneObjectEdits(name: String) throws {
    guard case .object(var root) = try JSONValue(parsing: Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).json")))
    else { return }
    var registrations = root.removeValue(forKey: "registrations")?.array ?? []
    var entries = root.removeValue(forKey: "config_entries")?.array ?? []
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    func encoded(_ value: JSONValue) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
    // Each object encoded on its own, so an edit of one leaves every other byte as it was.
    func text(_ registrations: [JSONValue], _ entries: [JSONValue]) throws -> Data {
      var members = try root.keys.sorted().map { "\(try encoded(.string($0))):\(try encoded(root[$0]!))" }
      members.append(#""registrations": [\#n  "# + (try registrations.map(encoded).joined(separator: ",\n  ")) + "\n]")
      members.append(#""config_entries": ["# + (try entries.map(encoded).joined(separator: ", ")) + "]")
      return Data(("{" + members.joined(separator: ",\n") + "}").utf8)
    }
    var reader = CatalogFileReader(name: name)
    var random = SplitMix(seed: UInt64(name.utf8.count) * 104_729)
    var previous: CatalogSnapshot?
    let ids = registrations.compactMap { $0["Service"]?["ID"]?.string }
    for step in 0..<150 {
      var data: Data
      if step == 0 || (registrations.isEmpty && entries.isEmpty) {
        data = try text(registrations, entries)
      } else if Int.random(in: 0..<3, using: &random) > 0 || entries.isEmpty, !registrations.isEmpty {
        let index = Int.random(in: 0..<registrations.count, using: &random)
        let kept = registrations
        switch Int.random(in: 0..<7, using: &random) {
        case 0: registrations[index] = registrations[index].setting(["Service", "Port"], .number(Double(random.next() % 30000 + 1)))
        case 1: registrations[index] = registrations[index].setting(["Service", "Meta"], .object(["v": .string("\(random.next() % 3)")]))
        case 2 where !ids.isEmpty:
          // Now naming another registration's instance (the later one naming an id defines it).
          registrations[index] = registrations[index].setting(["Service", "ID"], .string(ids.randomElement(using: &random)!))
        case 3: registrations[index] = .object(["Node": .number(5)])
        case 4: registrations[index] = registrations[index].setting(["Service", "Service"], .string("renamed-\(random.next() % 3)"))
        case 5:
          // Broken inside the object: the whole file is refused and the reader stays as it was.
          let broken = try String(decoding: text(registrations, entries), as: UTF8.self)
            .replacingOccurrences(of: try encoded(registrations[index]), with: #"{"Node": "#)
          #expect(throws: CatalogError.self) { try reader.read(Data(broken.utf8)) }
          registrations = kept
        default:
          // Spacing only, inside the object (no string in the fixtures holds `{"`).
          let spaced = try encoded(registrations[index]).replacingOccurrences(of: #"{""#, with: #"{ ""#)
          let original = try String(decoding: text(registrations, entries), as: UTF8.self)
          let changed = original.replacingOccurrences(of: try encoded(registrations[index]), with: spaced)
          #expect(try reader.read(Data(changed.utf8)) == nil, "step \(step): respacing one object published something")
          #expect(try reader.read(Data(original.utf8)) == nil)
        }
        data = try text(registrations, entries)
      } else {
        let index = Int.random(in: 0..<entries.count, using: &random)
        switch Int.random(in: 0..<4, using: &random) {
        case 0: entries[index] = entries[index].setting(["Protocol"], .string(["http", "tcp", "grpc"].randomElement(using: &random)!))
        case 1: entries[index] = .object(["Kind": .number(5)])
        case 2:
          // A Lambda declaration added or moved to another function (or region, which is refused).
          let region = ["us-east-1", "eu-west-1", "mars-1"].randomElement(using: &random)!
          entries[index] = entries[index].setting(["EnvoyExtensions"], .array([.object([
            "Name": .string("builtin/aws/lambda"),
            "Arguments": .object(["ARN": .string("arn:aws:lambda:\(region):123456789012:function:f\(random.next() % 3)")]),
          ])]))
        default: entries[index] = entries[index].setting(["Meta"], .object(["v": .string("\(random.next() % 3)")]))
        }
        data = try text(registrations, entries)
      }
      let fresh = try CatalogFile.snapshot(data: data, name: name)
      if let (snapshot, change) = try reader.read(data) {
        #expect(Bool(snapshot == fresh), "step \(step): the incremental read differs from a fresh read")
        #expect(change == CatalogChange(from: previous, to: fresh), "step \(step): wrong change")
        previous = snapshot
      } else {
        #expect(Bool(previous == fresh), "step \(step): an edit was reported as nothing new")
      }
    }
  }

  @Test("an edit that only respaces the file or reorders keys publishes nothing; a broken one throws and changes nothing")
  func unchanged() throws {
    var reader = CatalogFileReader(name: "t")
    let first = #"{"datacenter":"dc1","registrations":[{"Node":"n","Address":"10.0.0.1","Service":{"ID":"a","Service":"a","Port":1}}]}"#
    #expect(try reader.read(Data(first.utf8)) != nil)
    let respaced = #"{ "registrations" : [ {"Service":{"Port":1,"Service":"a","ID":"a"},"Address":"10.0.0.1","Node":"n"} ], "datacenter":"dc1" }"#
    #expect(try reader.read(Data(respaced.utf8)) == nil)
    #expect(throws: CatalogError.self) { try reader.read(Data(#"{"datacenter": "dc1", broken"#.utf8)) }
    // Broken inside a registration (whose text is only delimited until it is read).
    let brokenInside = first.replacingOccurrences(of: #""Port":1"#, with: #""Port":}"#)
    #expect { try reader.read(Data(brokenInside.utf8)) } throws: { "\($0)".contains("not valid JSON") }
    let edited = first.replacingOccurrences(of: #""Port":1"#, with: #""Port":2"#)
    let (snapshot, change) = try #require(try reader.read(Data(edited.utf8)))
    #expect(snapshot.instances["a"]?.port == 2)
    #expect(change == CatalogChange(services: ["a"]))
  }

  /// One random edit of the kinds an operator makes.
  static func edit(_ document: inout JSONValue, _ random: inout SplitMix) {
    guard case .object(var root) = document else { return }
    var registrations = root["registrations"]?.array ?? []
    var entries = root["config_entries"]?.array ?? []
    switch Int.random(in: 0..<9, using: &random) {
    case 0 where !registrations.isEmpty:
      registrations.remove(at: Int.random(in: 0..<registrations.count, using: &random))
    case 1 where !registrations.isEmpty:
      var copy = registrations.randomElement(using: &random)!
      copy = copy.setting(["Service", "ID"], .string("copy-\(random.next() % 1000)"))
      registrations.insert(copy, at: Int.random(in: 0...registrations.count, using: &random))
    case 2 where !registrations.isEmpty:
      let index = Int.random(in: 0..<registrations.count, using: &random)
      registrations[index] = registrations[index].setting(["Service", "Port"], .number(Double(random.next() % 30000 + 1)))
    case 3 where !registrations.isEmpty:
      let index = Int.random(in: 0..<registrations.count, using: &random)
      registrations[index] = registrations[index].setting(["Service", "Meta"], .object(["edited": .string("\(random.next() % 5)")]))
    case 4:
      registrations.insert(.object(["Node": .number(5)]), at: Int.random(in: 0...registrations.count, using: &random))
    case 5:
      registrations.shuffle(using: &random)
    case 6 where !entries.isEmpty:
      let index = Int.random(in: 0..<entries.count, using: &random)
      let protocols = ["http", "tcp", "http2", "grpc"]
      entries[index] = entries[index].setting(["Protocol"], .string(protocols.randomElement(using: &random)!))
    case 7 where !entries.isEmpty:
      entries.remove(at: Int.random(in: 0..<entries.count, using: &random))
    case 8 where !registrations.isEmpty:
      // Two registrations with one service ID: the later one wins, as in Consul.
      let index = Int.random(in: 0..<registrations.count, using: &random)
      registrations.append(registrations[index].setting(["Address"], .string("10.9.9.\(random.next() % 200)")))
    default:
      entries.append(.object(["Kind": .string("service-defaults"), "Name": .string("added-\(random.next() % 50)"), "Protocol": .string("http")]))
    }
    root["registrations"] = .array(registrations)
    root["config_entries"] = .array(entries)
    document = .object(root)
  }
}

extension JSONValue {
  /// The value with the member at `path` set (objects created on the way).
  func setting(_ path: [String], _ value: JSONValue) -> JSONValue {
    guard let key = path.first else { return value }
    var members = object ?? [:]
    members[key] = (members[key] ?? .object([:])).setting(Array(path.dropFirst()), value)
    return .object(members)
  }
}

/// inotify: edits are seen at once, in place or as an atomic replace, with no poll to help.
@Suite("Catalog file watching")
struct CatalogFileWatchTests {
  @Test("an in-place write and an atomic rename are both published without polling")
  func inotify() async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("watch-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("catalog.json").path
    try #"{"datacenter":"dc1"}"#.write(toFile: path, atomically: false, encoding: .utf8)
    let seen = Recorder<String>()
    // A poll interval of an hour: only inotify can deliver the edits in time.
    let watcher = CatalogFileWatcher(path: path, pollInterval: .seconds(3600))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        await watcher.run(publish: { snapshot, _ in seen.append(snapshot.datacenter) }, onError: { _ in })
      }
      func waitFor(_ datacenter: String) async throws {
        for _ in 0..<500 where seen.items.last != datacenter { try await Task.sleep(for: .milliseconds(10)) }
        #expect(seen.items.last == datacenter)
      }
      try await waitFor("dc1")
      // In place (same size, so only the event reveals it).
      let handle = try #require(FileHandle(forWritingAtPath: path))
      try handle.truncate(atOffset: 0)
      try handle.write(contentsOf: Data(#"{"datacenter":"dc2"}"#.utf8))
      try handle.close()
      try await waitFor("dc2")
      // Atomic replace: a temporary file renamed over it.
      let temporary = directory.appendingPathComponent(".catalog.json.tmp").path
      try #"{"datacenter":"dc3"}"#.write(toFile: temporary, atomically: false, encoding: .utf8)
      #expect(rename(temporary, path) == 0)
      try await waitFor("dc3")
      group.cancelAll()
    }
    #expect(seen.items == ["dc1", "dc2", "dc3"])
  }
}
