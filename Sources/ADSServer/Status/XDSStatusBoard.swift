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

  public struct NodeStatus: Sendable, Equatable, Codable {
    public var streams = 0
    /// Streams refused for this node (authorization).
    public var refusedStreams = 0
    public var variant: String?
    public var types: [String: TypeStatus] = [:]
    public var history: [Event] = []
  }

  private let nodes = Mutex<[String: NodeStatus]>([:])
  private let historyLimit: Int

  public init(historyLimit: Int = 200) {
    self.historyLimit = historyLimit
  }

  public func status(of nodeID: String) -> NodeStatus? { nodes.withLock { $0[nodeID] } }

  public func typeStatus(of nodeID: String, _ type: ResourceType) -> TypeStatus {
    nodes.withLock { $0[nodeID]?.types[type.description] } ?? TypeStatus()
  }

  public var all: [String: NodeStatus] { nodes.withLock { $0 } }

  func connected(_ nodeID: String, variant: XDSVariant) {
    update(nodeID, Event(kind: .connected, detail: variant.description, at: Date())) {
      $0.streams += 1
      $0.variant = variant.description
    }
  }

  func refused(_ nodeID: String, _ reason: String) {
    update(nodeID, Event(kind: .refused, detail: reason, at: Date())) { $0.refusedStreams += 1 }
  }

  func disconnected(_ nodeID: String) {
    update(nodeID, Event(kind: .disconnected, at: Date())) { $0.streams -= 1 }
  }

  func sent(_ nodeID: String, _ response: PlannedResponse) {
    let names = response.resources.map(\.name) + response.removed.map { "-" + $0 }
    let event = Event(
      kind: .sent, type: response.type.description, version: response.version,
      nonce: response.nonce, detail: names.joined(separator: ","), at: Date())
    update(nodeID, event) { node in
      node.types[response.type.description, default: TypeStatus()].responsesSent += 1
      node.types[response.type.description]!.lastSentVersion = response.version
      node.types[response.type.description]!.lastSentNonce = response.nonce
    }
  }

  func record(_ nodeID: String, _ streamEvent: StreamEvent) {
    switch streamEvent {
    case .acknowledged(let type, let nonce, let version):
      let event = Event(
        kind: .acknowledged, type: type.description, version: version, nonce: nonce, at: Date())
      update(nodeID, event) { node in
        node.types[type.description, default: TypeStatus()].ackedVersion = version
        node.types[type.description]!.rejection = nil
      }
    case .rejected(let type, let nonce, let version, let message):
      let at = Date()
      let event = Event(
        kind: .rejected, type: type.description, version: version, nonce: nonce, detail: message,
        at: at)
      update(nodeID, event) { node in
        node.types[type.description, default: TypeStatus()].rejection = Rejection(
          version: version, nonce: nonce, message: message, at: at)
      }
    case .staleNonceIgnored:
      break
    }
  }

  private func update(_ nodeID: String, _ event: Event, _ change: (inout NodeStatus) -> Void) {
    nodes.withLock { nodes in
      var node = nodes[nodeID] ?? NodeStatus()
      change(&node)
      node.history.append(event)
      if node.history.count > historyLimit { node.history.removeFirst(node.history.count - historyLimit) }
      nodes[nodeID] = node
    }
  }
}
