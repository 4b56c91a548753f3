import ADSProtocol
import Foundation
import ResourceCache

/// A resource whose bytes are its content string; enough for the protocol logic.
func resource(
  _ type: ResourceType, _ name: String, _ content: String = "v1", refs: [ResourceKey] = []
) -> EncodedResource {
  EncodedResource(type: type, name: name, bytes: Data("\(name):\(content)".utf8), references: Set(refs))
}

func snapshot(_ resources: EncodedResource...) -> Snapshot { try! Snapshot(resources) }

func sotw(_ type: ResourceType, _ names: [String] = [], nonce: String = "", nack: String? = nil)
  -> ClientRequest
{
  ClientRequest(type: type, subscription: .replace(names), responseNonce: nonce, errorMessage: nack)
}

func delta(
  _ type: ResourceType, subscribe: [String] = [], unsubscribe: [String] = [], nonce: String = "",
  nack: String? = nil, initial: [String: String] = [:]
) -> ClientRequest {
  ClientRequest(
    type: type, subscription: .change(subscribe: subscribe, unsubscribe: unsubscribe),
    responseNonce: nonce, errorMessage: nack, initialVersions: initial)
}

extension StreamStep {
  /// "CDS[a,b]-[c]" per response, for compact assertions.
  var summary: [String] {
    responses.map { response in
      let names = response.resources.map(\.name).joined(separator: ",")
      let removed = response.removed.isEmpty ? "" : "-[\(response.removed.joined(separator: ","))]"
      return "\(response.type)[\(names)]\(removed)"
    }
  }

  func nonce(_ type: ResourceType) -> String {
    responses.first { $0.type == type }!.nonce
  }
}
