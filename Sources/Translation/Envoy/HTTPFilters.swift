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
    }
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

  private static func filter(_ name: String, _ config: some Message) throws -> HTTPFilter {
    let any = try Google_Protobuf_Any.packing(config)
    return .with {
      $0.name = name
      $0.typedConfig = any
    }
  }
}
