public import ADSProtocol
public import Foundation
public import ResourceCache
import Synchronization

/// What each connected proxy was sent and how it answered, per resource type.
///
/// This is the server's memory of ACKs and NACKs: it backs the admin API (`dump --server`), the
/// logs and the tests that count responses. It keeps a short history per node, never per stream
/// message forever.
public final class XDSStatusBoard: Sendable {
  /// The state of one resource type for one node.
  public struct TypeStatus: Sendable, Equatable, Codable {
    public var responsesSent = 0
    public var lastSentVersion: String?
    public var lastSentNonce: String?
    public var lastSentAt: Date?
    public var ackedVersion: String?
    public var rejection: Rejection?
  }

  public struct Rejection: Sendable, Equatable, Codable {
    public var version: String
    public var nonce: String
    public var message: String
    public var at: Date
  }

  /// One line of a node's history.
  public struct Event: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
      case sent, acknowledged, rejected, connected, disconnected, refused
    }
    public var kind: Kind
    public var type: String?
    public var version: String?
    public var nonce: String?
    /// Resource names in the response (sent) or the client's error (rejected).
    public var detail: String?
    public var at: Date
  }

  /// A refused stream, kept in a small ring whatever its node id.
  public struct Refusal: Sendable, Equatable, Codable {
    public var node: String
    public var reason: XDSMetrics.RefusalReason
    public var message: String
    public var at: Date
  }

  public struct NodeStatus: Sendable, Equatable, Codable {
    public var streams = 0
    /// When its last stream ended (forgotten `forgetAfter` later).
    public var disconnectedAt: Date?
    /// Streams refused for this node (authorization).
    public var refusedStreams = 0
    public var variant: String?
    /// The proxy's kind in the catalog when its stream opened (`unknown` if it was not there).
    public var kind: String?
    public var types: [String: TypeStatus] = [:]
    public var history: [Event] = []
  }

  private let nodes = Mutex<[String: NodeStatus]>([:])
  private let refusals = Mutex<[Refusal]>([])
  private let historyLimit: Int
  /// How many refused streams are remembered (the newest).
  public static let refusalLimit = 64
  private let metrics: XDSMetrics
  private let kindOf: @Sendable (String) -> String?

  /// - Parameter kindOf: a node's proxy kind in the catalog (a metric label), nil if unknown.
  /// - Parameter historyLimit: events kept per node (the newest). Every node keeps its own, so
  ///   this times the mesh's size is what the board can hold: 50 covers the last changes and
  ///   their answers, and `types` keeps each type's last rejection however old.
  public init(historyLimit: Int = 50, metrics: XDSMetrics = .none, kindOf: @escaping @Sendable (String) -> String? = { _ in nil }) {
    self.historyLimit = historyLimit
    self.metrics = metrics
    self.kindOf = kindOf
  }

  public func status(of nodeID: String) -> NodeStatus? { nodes.withLock { $0[nodeID] } }

  public func typeStatus(of nodeID: String, _ type: ResourceType) -> TypeStatus {
    nodes.withLock { $0[nodeID]?.types[type.description] } ?? TypeStatus()
  }

  public var all: [String: NodeStatus] { nodes.withLock { $0 } }

  func connected(_ nodeID: String, variant: XDSVariant) {
    let kind = kindOf(nodeID) ?? "unknown"
    update(nodeID, Event(kind: .connected, detail: variant.description, at: Date())) {
      $0.streams += 1
      $0.variant = variant.description
      $0.kind = kind
    }
    metrics.streams(kind: kind, variant: variant, change: 1)
  }

  /// A stream refused (or ended) for `reason`. Only a node of the catalog, or one already on the
  /// board, gets an entry of its own: any other node id goes to the bounded ring only, so
  /// clients inventing node ids cannot grow the board.
  func refused(_ nodeID: String, _ reason: XDSMetrics.RefusalReason, _ message: String) {
    let at = Date()
    refusals.withLock { ring in
      ring.append(Refusal(node: String(nodeID.prefix(256)), reason: reason, message: message, at: at))
      if ring.count > Self.refusalLimit { ring.removeFirst(ring.count - Self.refusalLimit) }
    }
    metrics.refused(reason)
    let known = kindOf(nodeID) != nil
    let event = Event(kind: .refused, detail: message, at: at)
    nodes.withLock { nodes in
      guard known || nodes[nodeID] != nil else { return }
      nodes[nodeID, default: NodeStatus()].refusedStreams += 1
      append(event, to: &nodes[nodeID, default: NodeStatus()])
    }
  }

  /// The newest refused streams, oldest first.
  public var recentRefusals: [Refusal] { refusals.withLock { $0 } }

  /// Node ids with an open stream that are not proxies of the catalog (yet).
  public var unknownNodes: [String] {
    nodes.withLock { nodes in nodes.filter { $0.value.streams > 0 && $0.value.kind == "unknown" }.map(\.key).sorted() }
  }

  /// Forgets nodes whose last stream ended before `cutoff`.
  /// - Returns: how many were forgotten.
  @discardableResult
  public func forget(disconnectedBefore cutoff: Date) -> Int {
    nodes.withLock { nodes in
      let stale = nodes.filter { $0.value.streams == 0 && ($0.value.disconnectedAt ?? .distantPast) < cutoff }.map(\.key)
      for node in stale { nodes[node] = nil }
      return stale.count
    }
  }

  /// How many nodes the board holds.
  public var count: Int { nodes.withLock { $0.count } }

  func disconnected(_ nodeID: String, variant: XDSVariant) {
    var kind = "unknown"
    let at = Date()
    update(nodeID, Event(kind: .disconnected, at: at)) {
      $0.streams -= 1
      $0.disconnectedAt = at
      kind = $0.kind ?? kind
    }
    metrics.streams(kind: kind, variant: variant, change: -1)
  }

  func sent(_ nodeID: String, _ response: PlannedResponse) {
    let names = response.resources.lazy.map(\.name) + response.removed.lazy.map { "-" + $0 }
    let event = Event(
      kind: .sent, type: response.type.description, version: response.version,
      nonce: response.nonce, detail: Self.detail(names, count: response.resources.count + response.removed.count), at: Date())
    update(nodeID, event) { node in
      node.types[response.type.description, default: TypeStatus()].responsesSent += 1
      node.types[response.type.description]!.lastSentVersion = response.version
      node.types[response.type.description]!.lastSentNonce = response.nonce
      node.types[response.type.description]!.lastSentAt = event.at
    }
    metrics.sent(response.type)
    learnKind(nodeID)
  }

  /// At most this many bytes of names per sent event (a gateway's clusters run to thousands).
  public static let detailLimit = 512

  /// The `count` names, comma-separated, as many as fit in ``detailLimit``, then how many were
  /// left out (the rest are not read).
  static func detail(_ names: some Sequence<String>, count: Int) -> String {
    var detail = ""
    for (index, name) in names.enumerated() {
      let separator = index == 0 ? "" : ","
      guard detail.utf8.count + separator.utf8.count + name.utf8.count <= detailLimit else {
        return detail + separator + "(\(count - index) more)"
      }
      detail += separator + name
    }
    return detail
  }

  /// A stream can open before its proxy is in the catalog: once it is, its streams count under
  /// its kind (checked only while the kind is unknown).
  private func learnKind(_ nodeID: String) {
    guard nodes.withLock({ $0[nodeID]?.kind == "unknown" }), let kind = kindOf(nodeID) else { return }
    let moved = nodes.withLock { nodes -> (streams: Int, variant: String?) in
      guard nodes[nodeID]?.kind == "unknown" else { return (0, nil) }
      nodes[nodeID]!.kind = kind
      return (nodes[nodeID]!.streams, nodes[nodeID]!.variant)
    }
    guard moved.streams > 0, let variant = moved.variant.flatMap(XDSVariant.init(rawValue:)) else { return }
    metrics.streams(kind: "unknown", variant: variant, change: -moved.streams)
    metrics.streams(kind: kind, variant: variant, change: moved.streams)
  }

  func record(_ nodeID: String, _ streamEvent: StreamEvent) {
    switch streamEvent {
    case .acknowledged(let type, let nonce, let version):
      let event = Event(
        kind: .acknowledged, type: type.description, version: version, nonce: nonce, at: Date())
      var elapsed: Duration?
      update(nodeID, event) { node in
        let sent = node.types[type.description, default: TypeStatus()]
        if sent.lastSentNonce == nonce, let at = sent.lastSentAt {
          elapsed = .microseconds(Int64(max(0, event.at.timeIntervalSince(at)) * 1_000_000))
        }
        node.types[type.description]!.ackedVersion = version
        node.types[type.description]!.rejection = nil
      }
      metrics.acknowledged(type, after: elapsed)
      learnKind(nodeID)
    case .rejected(let type, let nonce, let version, let message):
      let at = Date()
      let event = Event(
        kind: .rejected, type: type.description, version: version, nonce: nonce, detail: message,
        at: at)
      update(nodeID, event) { node in
        node.types[type.description, default: TypeStatus()].rejection = Rejection(
          version: version, nonce: nonce, message: message, at: at)
      }
      metrics.rejected(type)
    case .staleNonceIgnored:
      break
    }
  }

  /// Changes the node's entry in place: a copy would share its history, so appending to it
  /// would copy the whole history (every response and ACK of every stream did).
  private func update(_ nodeID: String, _ event: Event, _ change: (inout NodeStatus) -> Void) {
    nodes.withLock { nodes in
      change(&nodes[nodeID, default: NodeStatus()])
      append(event, to: &nodes[nodeID, default: NodeStatus()])
    }
  }

  private func append(_ event: Event, to node: inout NodeStatus) {
    node.history.append(event)
    if node.history.count > historyLimit { node.history.removeFirst(node.history.count - historyLimit) }
  }
}
