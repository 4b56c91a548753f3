import ConsulCatalog
import Foundation
import Testing

/// Lambda declarations in both forms, as Consul stores them in service-defaults.
@Suite("Lambda registrations")
struct LambdaRegistrationTests {
  static let arn = "arn:aws:lambda:us-east-2:123456789012:function:payments"
  static let prefix = "serverless.consul.hashicorp.com/v1alpha1/lambda/"

  func parse(_ json: String, proxyDefaultsProtocol: String = "", settings: JSONValue? = nil) throws -> LambdaRegistration? {
    guard case .serviceDefaults(let entry) = try ConfigEntry(JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)))
    else { throw CatalogError("not service-defaults") }
    return LambdaRegistration.parse(entry, inheritedProtocol: proxyDefaultsProtocol, settings: settings)
  }

  func extensionEntry(_ arguments: String, protocol: String = "http") -> String {
    """
    {"Kind":"service-defaults","Name":"payments","Protocol":"\(`protocol`)","TransparentProxy":{},
     "EnvoyExtensions":[{"Name":"builtin/aws/lambda","Required":false,"Arguments":\(arguments),
     "ConsulVersion":"","EnvoyVersion":""}],"CreateIndex":141,"ModifyIndex":141}
    """
  }

  func metaEntry(_ meta: [String: String], protocol: String = "http") -> String {
    let pairs = meta.map { "\"\(Self.prefix)\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
    return #"{"Kind":"service-defaults","Name":"payments","Protocol":"\#(`protocol`)","Meta":{\#(pairs)}}"#
  }

  func settingsEntry(_ meta: [String: String]) -> String {
    let pairs = meta.map { "\"lambda-xds/\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
    return #"{"Kind":"service-defaults","Name":"payments","Protocol":"http","Meta":{\#(pairs)},"#
      + #""EnvoyExtensions":[{"Name":"builtin/aws/lambda","Arguments":{"ARN":"\#(Self.arn)"}}]}"#
  }

  @Test("production settings: Lambda-sized defaults, overrides, and bad values dropped with a warning")
  func productionSettings() throws {
    let defaults = try #require(try parse(settingsEntry([:]))).function.get()
    #expect(defaults.timeoutMilliseconds == 900_000 && defaults.maxRequestBytes == 6 * 1024 * 1024)
    #expect(defaults.signedHeaders == .hygienic && defaults.credentialsProfile == nil && defaults.functionErrorStatus == nil)

    let tuned = try #require(try parse(settingsEntry([
      "timeout": "1m30s", "max-request-bytes": "512KiB", "signed-headers": "content-type, X-Trace*",
      "credentials-profile": "billing", "function-error-status": "502",
    ])))
    let function = try tuned.function.get()
    #expect(function.timeoutMilliseconds == 90_000 && function.maxRequestBytes == 524_288)
    #expect(function.signedHeaders == .only(["content-type", "x-trace*"]) && function.credentialsProfile == "billing")
    #expect(function.functionErrorStatus == .status(502))
    #expect(try parse(settingsEntry(["function-error-status": "OFF"]))?.function.get().functionErrorStatus == .off)
    #expect(tuned.warnings.isEmpty)

    let bad = try #require(try parse(settingsEntry([
      "timeout": "901s", "max-request-bytes": "7MiB", "signed-headers": "a b", "credentials-profile": "no/slash",
      "timout": "3s", "function-error-status": "200",
    ])))
    let fallback = try bad.function.get()
    #expect(fallback.timeoutMilliseconds == 900_000 && fallback.maxRequestBytes == 6 * 1024 * 1024)
    #expect(fallback.signedHeaders == .hygienic && fallback.credentialsProfile == nil && fallback.functionErrorStatus == nil)
    #expect(bad.warnings.count == 6)
    #expect(bad.warnings.contains { $0.contains("did you mean lambda-xds/timeout?") })

    let low = try #require(try parse(settingsEntry(["timeout": "500ms", "max-request-bytes": "1000"])))
    #expect(try low.function.get().timeoutMilliseconds == 500)
    #expect(low.warnings.count == 2 && low.warnings.allSatisfy { $0.contains("below") })
  }

  @Test("settings from Consul KV: per key over Meta (with a warning), a value that is not an object ignored")
  func settingsFromKV() throws {
    let kv = ConsulAnswers.lambdaSettings(fromKV: try JSONValue(parsing: Data("""
      [{"Key":"lambda-xds/services/payments","Value":"\(Data(#"{"timeout":"30s","function-error-status":"502"}"#.utf8).base64EncodedString())"},
       {"Key":"lambda-xds/services/broken","Value":"\(Data("not json".utf8).base64EncodedString())"},
       {"Key":"lambda-xds/services/a/b","Value":null},{"Key":"elsewhere/x","Value":null}]
      """.utf8)))
    #expect(Set(kv.keys) == ["payments", "broken"])
    let merged = try #require(try parse(settingsEntry(["timeout": "10s", "max-request-bytes": "1MiB"]), settings: kv["payments"]))
    let function = try merged.function.get()
    #expect(function.timeoutMilliseconds == 30_000 && function.functionErrorStatus == .status(502) && function.maxRequestBytes == 1_048_576)
    #expect(merged.warnings == ["Meta lambda-xds/timeout is overridden by Consul KV lambda-xds/services/payments"])
    #expect(merged.settingKeys == ["lambda-xds/function-error-status", "lambda-xds/max-request-bytes", "lambda-xds/timeout"])

    let broken = try #require(try parse(settingsEntry([:]), settings: kv["broken"]))
    #expect(try broken.function.get().timeoutMilliseconds == 900_000 && broken.settingKeys.isEmpty)
    #expect(broken.warnings.count == 1 && broken.warnings[0].contains("not a JSON object"))

    // The catalog file's `kv` holds the same keys (an object, or the JSON text Consul stores).
    let file = """
      {"registrations": [], "config_entries": [\(settingsEntry([:]))],
       "kv": {"lambda-xds/services/payments": {"timeout": "45s"}}}
      """
    let snapshot = try CatalogFile.snapshot(data: Data(file.utf8), name: "kv.json")
    #expect(try snapshot.lambdas["payments"]?.function.get().timeoutMilliseconds == 45_000)
    var reader = CatalogFileReader(name: "kv.json")
    _ = try reader.read(Data(file.utf8))
    let edited = try #require(try reader.read(Data(file.replacingOccurrences(of: #"{"timeout": "45s"}"#, with: #""{\"timeout\": \"50s\"}""#).utf8)))
    #expect(try edited.0.lambdas["payments"]?.function.get().timeoutMilliseconds == 50_000)
    #expect(edited.1.services.contains("payments"))
  }

  @Test("the EnvoyExtensions form as Consul returns it (the reference example)")
  func extensionForm() throws {
    let lambda = try #require(try parse(extensionEntry(#"{"ARN":"\#(Self.arn)","PayloadPassthrough":true}"#)))
    let function = try lambda.function.get()
    #expect(function.arn.description == Self.arn)
    #expect(function.region == "us-east-2")
    #expect(function.payloadPassthrough)
    #expect(function.invocationMode == .synchronous)
    #expect(lambda.source == .envoyExtension)
    #expect(lambda.warnings.isEmpty)
  }

  @Test("argument keys and the invocation mode are case-insensitive")
  func caseInsensitive() throws {
    let lambda = try #require(
      try parse(extensionEntry(#"{"arn":"\#(Self.arn)","payloadPassthrough":false,"invocationMode":"ASYNCHRONOUS"}"#)))
    #expect(try lambda.function.get().invocationMode == .asynchronous)
  }

  @Test("the legacy Meta form, with the region checked against the ARN")
  func legacyForm() throws {
    let lambda = try #require(
      try parse(metaEntry(["enabled": "true", "arn": Self.arn, "region": "us-east-2", "payload-passthrough": "true", "invocation-mode": "asynchronous"])))
    let function = try lambda.function.get()
    #expect(function.payloadPassthrough && function.invocationMode == .asynchronous)
    #expect(lambda.source == .legacyMeta)

    let mismatch = try #require(try parse(metaEntry(["enabled": "true", "arn": Self.arn, "region": "eu-west-1"])))
    #expect(mismatch.invalidReason?.contains("differs from the ARN's region us-east-2") == true)
  }

  @Test("legacy keys without enabled=true do not make a Lambda; a misspelled key is flagged")
  func legacyMistakes() throws {
    #expect(try parse(metaEntry(["arn": Self.arn])) == nil)
    let lambda = try #require(try parse(metaEntry(["enabled": "true", "arn": Self.arn, "payload-passhthrough": "true"])))
    #expect(lambda.isValid)
    #expect(lambda.warnings.contains { $0.contains("did you mean \(Self.prefix)payload-passthrough") })
  }

  @Test(
    "bad declarations disable the service with a clear reason",
    arguments: [
      (#"{"ARN":"not-an-arn"}"#, "invalid Lambda ARN \"not-an-arn\""),
      (#"{"ARN":"arn:aws:s3:us-east-1:123456789012:function:f"}"#, "service is s3, not lambda"),
      (#"{"ARN":"arn:aws:lambda:moon-1:123456789012:function:f"}"#, "is not an AWS region"),
      (#"{"ARN":"\#(arn)","PayloadPassthrough":"yes"}"#, "PayloadPassthrough must be a boolean, not a string"),
      (#"{"ARN":"\#(arn)","InvocationMode":"eventually"}"#, "unknown invocation mode \"eventually\""),
      (#"{"PayloadPassthrough":true}"#, "ARN is required"),
      (#"{"ARN":42}"#, "ARN must be a string, not a number"),
    ])
  func invalid(arguments: String, reason: String) throws {
    let lambda = try #require(try parse(extensionEntry(arguments)))
    #expect(!lambda.isValid)
    #expect(lambda.invalidReason?.contains(reason) == true, "\(lambda.invalidReason ?? "valid")")
  }

  @Test("Protocol must be http, from the entry or inherited from proxy-defaults")
  func protocolRule() throws {
    let tcp = try #require(try parse(extensionEntry(#"{"ARN":"\#(Self.arn)"}"#, protocol: "tcp")))
    #expect(tcp.invalidReason?.contains("needs \"http\"") == true)
    let unset = try #require(try parse(extensionEntry(#"{"ARN":"\#(Self.arn)"}"#, protocol: "")))
    #expect(!unset.isValid)
    let inherited = try #require(try parse(extensionEntry(#"{"ARN":"\#(Self.arn)"}"#, protocol: ""), proxyDefaultsProtocol: "http"))
    #expect(inherited.isValid)
  }

  @Test("both forms: identical is a warning, different is an error")
  func bothForms() throws {
    let base = #"{"Kind":"service-defaults","Name":"payments","Protocol":"http","EnvoyExtensions":[{"Name":"builtin/aws/lambda","Arguments":{"ARN":"\#(Self.arn)"}}],"Meta":{"\#(Self.prefix)enabled":"true","\#(Self.prefix)arn":"ARN"}}"#
    let same = try #require(try parse(base.replacingOccurrences(of: "\"ARN\"}}", with: "\"\(Self.arn)\"}}")))
    #expect(same.isValid)
    #expect(same.warnings.contains { $0.contains("keep one") })
    let other = try #require(try parse(base.replacingOccurrences(of: "\"ARN\"}}", with: "\"arn:aws:lambda:us-east-2:123456789012:function:other\"}}")))
    #expect(other.invalidReason?.contains("they differ") == true)
  }

  @Test("ARN qualifiers: alias, version and $LATEST")
  func qualifiers() throws {
    #expect(try LambdaARN("\(Self.arn):live").qualifier == "live")
    #expect(try LambdaARN("\(Self.arn):7").qualifier == "7")
    #expect(try LambdaARN("\(Self.arn):$LATEST").qualifier == "$LATEST")
    #expect(try LambdaARN("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f").region == "us-gov-west-1")
    #expect(throws: CatalogError.self) { try LambdaARN("\(Self.arn):bad/alias") }
  }

  @Test("regions: two letters, one or two words, a number", arguments: [
    ("us-east-1", true), ("eu-central-2", true), ("us-gov-west-1", true), ("cn-north-1", true), ("ap-southeast-12", true),
    ("moon-1", false), ("us-east", false), ("usa-east-1", false), ("us-east-1a", false), ("us--1", false), ("us-east-", false),
    ("-east-1", false), ("us-east-west-north-1", false), ("US-EAST-1", false), ("us-3ast-1", false), ("", false), ("us-east-1-", false),
  ])
  func regions(region: String, valid: Bool) {
    let arn = "arn:aws:lambda:\(region):123456789012:function:f"
    #expect(((try? LambdaARN(arn)) != nil) == valid, "\(arn)")
    if valid { #expect((try? LambdaARN(arn))?.description == arn) }
  }

  @Test("ARN shapes", arguments: [
    ("arn:aws:lambda:us-east-1:123456789012:function:f", true), ("arn:aws:lambda:us-east-1:123456789012:function:f:", false),
    ("arn:aws:lambda:us-east-1:123456789012:function:f:a:b", false), ("arn:aws:lambda:us-east-1:12345678901:function:f", false),
    ("arn:aws:lambda:us-east-1:123456789012:layer:f", false), ("arn:aws-cn:lambda:cn-north-1:123456789012:function:f", true),
    ("arn:awz:lambda:us-east-1:123456789012:function:f", false), ("arn:aws:lambda:us-east-1:123456789012:function:", false),
    ("arn:aws:lambda:us-east-1:123456789012:function:f\u{e9}", false), (":aws:lambda:us-east-1:123456789012:function:f", false),
  ])
  func shapes(arn: String, valid: Bool) {
    #expect(((try? LambdaARN(arn)) != nil) == valid, "\(arn)")
  }
}
