import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// The HTTP filters translation puts in connection managers and upstream filter chains.
enum HTTPFilters {
  static let lambdaName = "envoy.filters.http.aws_lambda"

  /// `aws_lambda` with the function's settings. `host_rewrite` makes Envoy sign and send the
  /// endpoint's own host name (Consul leaves the caller's Host, which only works while nothing
  /// rewrites it after signing).
  static func lambda(_ function: LambdaFunction, endpoint: LambdaEndpoint) throws -> HTTPFilter {
    try filter(lambdaName, lambdaConfig(function, endpoint: endpoint))
  }

  static func lambdaConfig(_ function: LambdaFunction, endpoint: LambdaEndpoint) -> LambdaFilterConfig {
    .with {
      $0.arn = function.arn.description
      $0.payloadPassthrough = function.payloadPassthrough
      $0.invocationMode = function.invocationMode == .asynchronous ? .asynchronous : .synchronous
      $0.hostRewrite = endpoint.authority
      $0.credentialsProfile = function.credentialsProfile ?? ""
      switch function.signedHeaders {
      case .hygienic: $0.matchExcludedHeaders = unsignedHeaders
      case .all: break
      case .only(let names): $0.matchIncludedHeaders = names.map(headerMatcher)
      }
    }
  }

  /// Headers hops add or rewrite after the caller (load balancers, VPC endpoints, Envoy, the
  /// mesh's client certificate): signing them breaks the signature or signs what the caller did
  /// not send (Envoy issue 45609).
  static let unsignedHeaders = ["x-forwarded-*", "x-amzn-*", "x-envoy-*", "authorization", "x-forwarded-client-cert"]
    .map(headerMatcher)

  private static func headerMatcher(_ name: String) -> Envoy_Type_Matcher_V3_StringMatcher {
    .with { if name.hasSuffix("*") { $0.prefix = String(name.dropLast()) } else { $0.exact = name } }
  }

  /// A Lambda route's timeouts: the function's (900 s unless overridden) for the whole call and
  /// for idleness, since a synchronous invocation sends nothing until it returns.
  static func lambdaTimeouts(_ function: LambdaFunction, _ route: inout Envoy_Config_Route_V3_RouteAction) {
    route.timeout = .milliseconds(function.timeoutMilliseconds)
    route.idleTimeout = .milliseconds(function.timeoutMilliseconds)
  }

  static let customResponseName = "envoy.filters.http.custom_response"

  /// Lambda answers a function error with 200 and `X-Amz-Function-Error`; with a status for the
  /// service (its own or the global default), `custom_response` (listed before `aws_lambda`, so it sees the
  /// response after it) answers that status instead, keeps the header, and, since Envoy 1.40's
  /// local reply cannot carry the upstream body, says in a JSON body which error and request it was.
  static func functionErrors(_ function: LambdaFunction, _ options: TranslationOptions) throws -> HTTPFilter? {
    guard let status = options.functionErrorStatus(for: function) else { return nil }
    typealias FieldMatcher = Xds_Type_Matcher_V3_Matcher.MatcherList.FieldMatcher
    let input = try Google_Protobuf_Any.packing(
      Envoy_Type_Matcher_V3_HttpResponseHeaderMatchInput.with { $0.headerName = "x-amz-function-error" })
    func matcher(_ value: Xds_Type_Matcher_V3_StringMatcher, reporting kind: String) throws -> FieldMatcher {
      let policy = Envoy_Extensions_Http_CustomResponse_LocalResponsePolicy_V3_LocalResponsePolicy.with {
        $0.statusCode = .init(UInt32(status))
        $0.bodyFormat.contentType = "application/json"
        $0.bodyFormat.jsonFormat = Google_Protobuf_Struct(fields: [
          "message": .init(stringValue: "the Lambda function returned an error"),
          "functionError": .init(stringValue: "%RESP(x-amz-function-error)%"),
          "requestId": .init(stringValue: "%RESP(x-amzn-requestid)%"),
        ])
        // The local reply's own headers: `%RESP(...)%` would read those, so the value is spelled out.
        $0.responseHeadersToAdd = [
          .with {
            $0.header = .with {
              $0.key = "x-amz-function-error"
              $0.value = kind
            }
            $0.appendAction = .overwriteIfExistsOrAdd
          }
        ]
      }
      let action = try Google_Protobuf_Any.packing(policy)
      return .with {
        $0.predicate.singlePredicate.input = .with {
          $0.name = "x-amz-function-error"
          $0.typedConfig = input
        }
        $0.predicate.singlePredicate.valueMatch = value
        $0.onMatch.action = .with {
          $0.name = "function-error-\(kind.lowercased())"
          $0.typedConfig = action
        }
      }
    }
    let matchers = [
      try matcher(.with { $0.exact = "Handled" }, reporting: "Handled"),
      try matcher(.with { $0.safeRegex = .with { $0.googleRe2 = .init(); $0.regex = ".+" } }, reporting: "Unhandled"),
    ]
    let config = Envoy_Extensions_Filters_Http_CustomResponse_V3_CustomResponse.with {
      $0.customResponseMatcher.matcherList.matchers = matchers
    }
    return try filter(customResponseName, config)
  }

  static func router() throws -> HTTPFilter {
    try filter("envoy.filters.http.router", Envoy_Extensions_Filters_Http_Router_V3_Router())
  }

  /// Ends an upstream HTTP filter chain (required by Envoy).
  static func upstreamCodec() throws -> HTTPFilter {
    try filter("envoy.filters.http.upstream_codec", Envoy_Extensions_Filters_Http_UpstreamCodec_V3_UpstreamCodec())
  }

  static let rbacName = "envoy.filters.http.rbac"

  static func rbac(_ rules: RBACRules) throws -> HTTPFilter {
    try filter(rbacName, Envoy_Extensions_Filters_Http_Rbac_V3_RBAC.with { $0.rules = rules })
  }

  /// RBAC that enforces nothing by itself: the rules come per route (or per cluster weight).
  static func rbacWithoutRules() throws -> HTTPFilter {
    try filter(rbacName, Envoy_Extensions_Filters_Http_Rbac_V3_RBAC())
  }

  /// Copies the caller's identity out of `x-forwarded-client-cert` into dynamic metadata
  /// (namespace `consul`), as Consul's inbound HTTP listeners do.
  static func clientIdentityMetadata() throws -> HTTPFilter {
    typealias Config = Envoy_Extensions_Filters_Http_HeaderToMetadata_V3_Config
    let pattern = ".*URI=spiffe://([^/]+.[^/]+)(?:/ap/([^/]+))?/ns/([^/]+)/dc/([^/]+)/svc/([^/;,]+).*"
    let keys = ["trust-domain", "partition", "namespace", "datacenter", "service"]
    return try filter(
      "envoy.filters.http.header_to_metadata",
      Config.with { config in
        config.requestRules = keys.enumerated().map { index, key in
          .with {
            $0.header = "x-forwarded-client-cert"
            $0.onHeaderPresent = .with {
              $0.metadataNamespace = "consul"
              $0.key = key
              $0.regexValueRewrite.pattern.regex = pattern
              $0.regexValueRewrite.substitution = "\\\(index + 1)"
            }
          }
        }
      })
  }

  /// The filters Consul puts first on gRPC connection managers: per-method stats and the
  /// HTTP/1.1 bridge.
  static func grpcFilters() throws -> [HTTPFilter] {
    [
      try filter(
        "envoy.filters.http.grpc_stats",
        Envoy_Extensions_Filters_Http_GrpcStats_V3_FilterConfig.with { $0.statsForAllMethods = .init(true) }),
      try filter("envoy.filters.http.grpc_http1_bridge", Envoy_Extensions_Filters_Http_GrpcHttp1Bridge_V3_Config()),
    ]
  }

  /// An outbound connection manager's filters: the gRPC ones for `grpc`, then the router.
  static func upstream(protocol: String, before router: [HTTPFilter] = []) throws -> [HTTPFilter] {
    (`protocol` == "grpc" ? try grpcFilters() : []) + router + [try self.router()]
  }

  private static func filter(_ name: String, _ config: some Message) throws -> HTTPFilter {
    let any = try Google_Protobuf_Any.packing(config)
    return .with {
      $0.name = name
      $0.typedConfig = any
    }
  }
}
