public import EnvoyAPI
import SwiftProtobuf
public import ResourceCache

public typealias DiscoveryRequest = Envoy_Service_Discovery_V3_DiscoveryRequest
public typealias DiscoveryResponse = Envoy_Service_Discovery_V3_DiscoveryResponse
public typealias DeltaDiscoveryRequest = Envoy_Service_Discovery_V3_DeltaDiscoveryRequest
public typealias DeltaDiscoveryResponse = Envoy_Service_Discovery_V3_DeltaDiscoveryResponse

/// A request the protocol cannot take (the gRPC service answers it with INVALID_ARGUMENT).
public struct ADSRequestError: Error, Sendable, Equatable, CustomStringConvertible {
  public let message: String
  public var description: String { message }
}

/// Identifies this server in every response (Envoy shows it in its admin output).
let controlPlane = Envoy_Config_Core_V3_ControlPlane.with { $0.identifier = "lambda-xds" }

extension ResourceType {
  /// Maps a request's type URL, with the clear error the protocol asks for.
  static func requested(_ typeURL: String) throws(ADSRequestError) -> ResourceType {
    guard !typeURL.isEmpty else {
      throw ADSRequestError(message: "type_url is required on an ADS stream")
    }
    guard let type = ResourceType(typeURL: typeURL) else {
      let supported = ResourceType.allCases.map(\.typeURL).joined(separator: ", ")
      throw ADSRequestError(message: "unsupported type_url \(typeURL); this server serves \(supported)")
    }
    return type
  }
}

extension ClientRequest {
  public init(_ request: DiscoveryRequest) throws(ADSRequestError) {
    self.init(
      type: try .requested(request.typeURL), subscription: .replace(request.resourceNames),
      responseNonce: request.responseNonce,
      errorMessage: request.hasErrorDetail ? request.errorDetail.readableMessage : nil)
  }

  public init(_ request: DeltaDiscoveryRequest) throws(ADSRequestError) {
    self.init(
      type: try .requested(request.typeURL),
      subscription: .change(
        subscribe: request.resourceNamesSubscribe, unsubscribe: request.resourceNamesUnsubscribe),
      responseNonce: request.responseNonce,
      errorMessage: request.hasErrorDetail ? request.errorDetail.readableMessage : nil,
      initialVersions: request.initialResourceVersions)
  }
}

extension Google_Rpc_Status {
  var readableMessage: String { message.isEmpty ? "rejected with status code \(code)" : message }
}

extension DiscoveryResponse {
  public init(_ planned: PlannedResponse) {
    self.init()
    versionInfo = planned.version
    typeURL = planned.type.typeURL
    nonce = planned.nonce
    resources = planned.resources.map(\.any)
    controlPlane = ADSProtocol.controlPlane
  }
}

extension DeltaDiscoveryResponse {
  public init(_ planned: PlannedResponse) {
    self.init()
    systemVersionInfo = planned.version
    typeURL = planned.type.typeURL
    nonce = planned.nonce
    resources = planned.resources.map { encoded in
      Envoy_Service_Discovery_V3_Resource.with {
        $0.name = encoded.name
        $0.version = encoded.version
        $0.resource = encoded.any
      }
    }
    removedResources = planned.removed
    controlPlane = ADSProtocol.controlPlane
  }
}
