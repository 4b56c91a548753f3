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
  /// Route and stream idle timeout (Meta `lambda-xds/timeout`). Defaults to Lambda's own
  /// maximum of 900 s, so the function's timeout decides, not Envoy's 15 s.
  public var timeoutMilliseconds: Int = LambdaFunction.maximumTimeoutMilliseconds
  /// The largest request body the proxy buffers for it (Meta `lambda-xds/max-request-bytes`).
  /// Defaults to Lambda's 6 MB synchronous payload, not Envoy's 1 MiB.
  public var maxRequestBytes: Int = LambdaFunction.maximumPayloadBytes
  /// Which caller headers the signature covers (Meta `lambda-xds/signed-headers`).
  public var signedHeaders: SignedHeaders = .hygienic
  /// A profile of the signing proxy's AWS credentials file (Meta `lambda-xds/credentials-profile`);
  /// nil means the proxy's default credential chain.
  public var credentialsProfile: String?
  /// The status a function error (Lambda's 200 with `X-Amz-Function-Error`) reaches the caller
  /// with (Meta `lambda-xds/function-error-status`: 400-599, or `off`); nil: the global default
  /// (`--lambda-function-error-status`), which is to pass it through as 200, as Consul.
  public var functionErrorStatus: FunctionErrorStatus?

  public enum FunctionErrorStatus: Sendable, Hashable {
    case status(Int)
    /// Passed through even when a global default is set.
    case off
  }

  public static let maximumTimeoutMilliseconds = 900_000
  public static let maximumPayloadBytes = 6 * 1024 * 1024

  /// Headers a hop adds (load balancers, VPC endpoints, Envoy, the mesh) would break the
  /// signature or sign what the caller did not send.
  public enum SignedHeaders: Sendable, Hashable {
    /// Every header but `x-forwarded-*`, `x-amzn-*`, `x-envoy-*`, `authorization` and
    /// `x-forwarded-client-cert`.
    case hygienic
    /// Envoy's default: every header.
    case all
    /// Only these (names, or prefixes ending in `*`), plus the ones Envoy always signs.
    case only([String])
  }

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
