import ConsulCatalog
import Foundation
import Testing

@Suite("Lambda endpoints and lambda-xds's own Meta settings")
struct LambdaEndpointTests {
  @Test("URLs: scheme decides TLS, default ports, IP literals, Host header value")
  func parse() throws {
    let local = try LambdaEndpoint(url: "http://127.0.0.1:9001")
    #expect(!local.usesTLS && local.host == "127.0.0.1" && local.port == 9001 && local.isIPAddress)
    #expect(local.authority == "127.0.0.1:9001")
    let vpc = try LambdaEndpoint(url: "https://vpce-1.lambda.us-east-1.vpce.amazonaws.com/")
    #expect(vpc.usesTLS && vpc.port == 443 && !vpc.isIPAddress && vpc.authority == "vpce-1.lambda.us-east-1.vpce.amazonaws.com")
    let v6 = try LambdaEndpoint(url: "http://[::1]:8080")
    #expect(v6.host == "::1" && v6.isIPAddress && v6.authority == "[::1]:8080")
    #expect(LambdaEndpoint.aws(region: "cn-north-1", partition: "aws-cn").host == "lambda.cn-north-1.amazonaws.com.cn")
    for bad in ["ftp://x", "lambda.amazonaws.com", "http://host/path", "http://host:0", "http://host:99999", "https://"] {
      #expect(throws: CatalogError.self, "\(bad)") { try LambdaEndpoint(url: bad) }
    }
  }

  @Test("lambda-xds/endpoint and lambda-xds/filter-mode in service-defaults Meta; bad values disable the service")
  func meta() throws {
    func registration(_ meta: String) throws -> LambdaRegistration {
      let json = #"{"Kind":"service-defaults","Name":"fn","Protocol":"http","Meta":\#(meta),"EnvoyExtensions":[{"Name":"builtin/aws/lambda","Arguments":{"ARN":"arn:aws:lambda:us-east-1:123456789012:function:fn"}}]}"#
      guard case .serviceDefaults(let entry) = try ConfigEntry(JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))) else {
        throw CatalogError("not service-defaults")
      }
      return try #require(LambdaRegistration.parse(entry))
    }
    let function = try registration(#"{"lambda-xds/endpoint":"http://127.0.0.1:9001","lambda-xds/filter-mode":"Upstream"}"#).function.get()
    #expect(function.endpoint?.port == 9001 && function.filterMode == .upstream)
    #expect(try registration("{}").function.get().filterMode == .downstream)
    #expect(try registration(#"{"lambda-xds/filter-mode":"sideways"}"#).invalidReason?.contains("filter-mode") == true)
    #expect(try registration(#"{"lambda-xds/endpoint":"localhost:9"}"#).invalidReason?.contains("invalid Lambda endpoint") == true)
  }
}
