/// How a Lambda function is invoked.
public struct LambdaFunction: Sendable, Hashable {
  public enum InvocationMode: String, Sendable, Hashable {
    case synchronous
    case asynchronous
  }

  /// Where Envoy runs the aws_lambda filter.
  public enum FilterMode: String, Sendable, Hashable {
    /// In the connection manager, as Consul does; the cluster carries the
    /// `com.amazonaws.lambda` metadata that turns the filter on.
    case downstream
    /// In the cluster's upstream HTTP filters: needs no metadata and signs after route rewrites.
    case upstream
  }

  public var arn: LambdaARN
  public var payloadPassthrough: Bool
  public var invocationMode: InvocationMode
  /// A per-service endpoint (service-defaults Meta `lambda-xds/endpoint`); nil means AWS's.
  public var endpoint: LambdaEndpoint?
  public var filterMode: FilterMode

  public init(
    arn: LambdaARN, payloadPassthrough: Bool = false, invocationMode: InvocationMode = .synchronous,
    endpoint: LambdaEndpoint? = nil, filterMode: FilterMode = .downstream
  ) {
    self.arn = arn
    self.payloadPassthrough = payloadPassthrough
    self.invocationMode = invocationMode
    self.endpoint = endpoint
    self.filterMode = filterMode
  }

  /// The region comes from the ARN, always.
  public var region: String { arn.region }
}
