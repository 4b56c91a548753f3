import Foundation

/// The responses one server sent, per node, byte for byte: what `record` writes and `bare`
/// replays.
///
/// File layout (little-endian): "LXDSREC1", u8 variant (0 state of the world, 1 delta), u32 node
/// count; per node: u16 id length, id (UTF-8), u32 response count; per response: u8 phase (0 the
/// initial configuration, 1 after the recorded change), u8 type (0 CDS, 1 EDS, 2 LDS, 3 RDS,
/// 4 SDS), u32 length, the serialized DiscoveryResponse or DeltaDiscoveryResponse.
struct Recording: Sendable {
  struct Response: Sendable {
    var phase: UInt8
    var type: XDSType
    var bytes: [UInt8]
  }

  static let magic = Array("LXDSREC1".utf8)

  var delta: Bool
  var nodes: [String: [Response]]

  func responses(_ node: String, phase: UInt8, type: XDSType) -> [[UInt8]] {
    (nodes[node] ?? []).filter { $0.phase == phase && $0.type == type }.map(\.bytes)
  }

  func encoded() -> Data {
    var out = Data(Self.magic)
    func u8(_ value: UInt8) { out.append(value) }
    func u16(_ value: Int) { withUnsafeBytes(of: UInt16(value).littleEndian) { out.append(contentsOf: $0) } }
    func u32(_ value: Int) { withUnsafeBytes(of: UInt32(value).littleEndian) { out.append(contentsOf: $0) } }
    u8(delta ? 1 : 0)
    u32(nodes.count)
    for (node, responses) in nodes.sorted(by: { $0.key < $1.key }) {
      let id = Array(node.utf8)
      u16(id.count)
      out.append(contentsOf: id)
      u32(responses.count)
      for response in responses {
        u8(response.phase)
        u8(UInt8(response.type.rawValue))
        u32(response.bytes.count)
        out.append(contentsOf: response.bytes)
      }
    }
    return out
  }

  init(delta: Bool, nodes: [String: [Response]]) {
    self.delta = delta
    self.nodes = nodes
  }

  init(contentsOf path: String) throws {
    let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var offset = 0
    func take(_ count: Int) throws -> ArraySlice<UInt8> {
      guard count >= 0, offset + count <= data.count else { throw LoadgenError("\(path): truncated recording") }
      defer { offset += count }
      return data[offset..<offset + count]
    }
    func uint(_ count: Int) throws -> Int {
      try take(count).reversed().reduce(0) { $0 << 8 | Int($1) }
    }
    guard Array(try take(Self.magic.count)) == Self.magic else { throw LoadgenError("\(path) is not a recording") }
    delta = try uint(1) == 1
    var nodes: [String: [Response]] = [:]
    for _ in 0..<(try uint(4)) {
      let id = String(decoding: try take(try uint(2)), as: UTF8.self)
      var responses: [Response] = []
      for _ in 0..<(try uint(4)) {
        let phase = UInt8(try uint(1))
        guard let type = XDSType(rawValue: try uint(1)) else { throw LoadgenError("\(path): unknown type") }
        responses.append(Response(phase: phase, type: type, bytes: Array(try take(try uint(4)))))
      }
      nodes[id] = responses
    }
    self.nodes = nodes
  }
}
