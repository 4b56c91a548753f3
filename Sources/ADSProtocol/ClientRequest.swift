public import ResourceCache

/// The two ADS flavours. They share one state machine; only request parsing and response
/// encoding differ.
public enum XDSVariant: String, Sendable, CustomStringConvertible {
  case stateOfTheWorld = "sotw"
  case delta

  public var description: String { rawValue }
}

/// A discovery request with the state-of-the-world and delta forms folded into one.
public struct ClientRequest: Sendable, Equatable {
  /// How the request changes the subscription.
  public enum Subscription: Sendable, Equatable {
    /// State of the world: the complete list of names, every time.
    case replace([String])
    /// Delta: names added and removed.
    case change(subscribe: [String], unsubscribe: [String])
  }

  public var type: ResourceType
  public var subscription: Subscription
  /// Empty on a first request and on delta's spontaneous subscription changes.
  public var responseNonce: String
  /// Set when the client rejects the response named by `responseNonce` (a NACK).
  public var errorMessage: String?
  /// Delta only: what a reconnecting client already holds, name -> version.
  public var initialVersions: [String: String]

  public init(
    type: ResourceType, subscription: Subscription, responseNonce: String = "",
    errorMessage: String? = nil, initialVersions: [String: String] = [:]
  ) {
    self.type = type
    self.subscription = subscription
    self.responseNonce = responseNonce
    self.errorMessage = errorMessage
    self.initialVersions = initialVersions
  }
}

/// A response the stream decided to send; the service encodes it for the variant.
public struct PlannedResponse: Sendable, Equatable {
  public var type: ResourceType
  public var nonce: String
  /// State of the world `version_info` (delta: `system_version_info`).
  public var version: String
  /// Sorted by name. In state of the world for clusters and listeners, the complete set.
  public var resources: [EncodedResource]
  /// Delta: names the client must drop. State of the world never sends these; they are kept so a
  /// rejected implicit deletion is not retried.
  public var removed: [String]
}

/// What happened to a response the client answered.
public enum StreamEvent: Sendable, Equatable {
  case acknowledged(ResourceType, nonce: String, version: String)
  case rejected(ResourceType, nonce: String, version: String, message: String)
  /// State of the world: a request naming an older nonce, ignored as the protocol requires.
  case staleNonceIgnored(ResourceType, nonce: String)
}

/// The result of feeding one input to the state machine.
public struct StreamStep: Sendable, Equatable {
  public var events: [StreamEvent] = []
  public var responses: [PlannedResponse] = []
}
