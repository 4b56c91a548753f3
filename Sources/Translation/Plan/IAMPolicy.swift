/// The IAM policy document one signing proxy's AWS identity needs under the current routing plan:
/// `lambda:InvokeFunction` on exactly the functions it signs for (a sidecar for its direct Lambda
/// upstreams, a terminating gateway for the services linked to it), qualifiers included, since
/// IAM matches an invocation's qualified ARN. Keys are IAM's own spelling.
public struct IAMPolicy: Encodable, Sendable, Equatable {
  public struct Statement: Encodable, Sendable, Equatable {
    public var Sid = "LambdaXDSInvoke"
    public var Effect = "Allow"
    public var Action = ["lambda:InvokeFunction"]
    public var Resource: [String]
  }

  public var Version = "2012-10-17"
  public var Statement: [Statement]

  /// Every proxy that signs something, by node id.
  public static func byProxy(_ translation: CatalogTranslation) -> [String: IAMPolicy] {
    translation.proxies.compactMapValues { proxy in
      proxy.signedFunctions.isEmpty ? nil : IAMPolicy(Statement: [.init(Resource: proxy.signedFunctions)])
    }
  }
}
