/// A service whose service-defaults declare it a Lambda function, valid or not.
///
/// A malformed declaration does not throw: it becomes `.invalid(reason)` for that one service,
/// so the reason can be logged, counted and shown by `dump` and `check` while every other
/// service keeps working.
public struct LambdaRegistration: Sendable, Equatable {
  public enum Source: String, Sendable, Hashable {
    case envoyExtension = "EnvoyExtensions builtin/aws/lambda"
    case legacyMeta = "Meta serverless.consul.hashicorp.com/v1alpha1/lambda"
  }

  public var service: String
  public var source: Source
  public var function: Result<LambdaFunction, CatalogError>
  /// Things that do not disable the service but are probably mistakes (e.g. a misspelled key).
  public var warnings: [String]
  /// The lambda-xds settings given (Meta keys such as `lambda-xds/timeout`, from Meta or KV), so a
  /// later version without any can be told apart from one that never had them.
  public var settingKeys: [String] = []

  public init(service: String, source: Source, function: Result<LambdaFunction, CatalogError>, warnings: [String] = []) {
    self.service = service
    self.source = source
    self.function = function
    self.warnings = warnings
  }

  public var isValid: Bool { if case .success = function { true } else { false } }
  public var invalidReason: String? { if case .failure(let error) = function { error.description } else { nil } }

  /// Reads the Lambda declaration of a service-defaults entry; nil when it declares none.
  /// - Parameters:
  ///   - inheritedProtocol: the protocol from proxy-defaults, used when the entry has none.
  ///   - settings: the service's object from Consul KV (``LambdaSettingsKV``); per key it wins over Meta.
  public static func parse(_ entry: ServiceDefaults, inheritedProtocol: String = "", settings: JSONValue? = nil)
    -> LambdaRegistration?
  {
    let extensions = entry.envoyExtensions.filter { $0["Name"]?.string == Self.extensionName }
    let legacy = LegacyMeta(entry.meta)
    guard !extensions.isEmpty || legacy.declaresLambda else { return nil }

    var warnings = legacy.warnings
    let source: Source = extensions.isEmpty ? .legacyMeta : .envoyExtension
    var meta = entry.meta.object ?? [:]
    if let settings {
      if let object = settings.object {
        for (key, value) in LambdaSettingsKV.metaKeys(object) {
          if let old = meta[key], old != value {
            warnings.append("Meta \(key) is overridden by Consul KV \(LambdaSettingsKV.prefix)\(entry.name)")
          }
          meta[key] = value
        }
      } else {
        warnings.append("Consul KV \(LambdaSettingsKV.prefix)\(entry.name) is not a JSON object of settings; ignored")
      }
    }
    let settingKeys = meta.keys.filter { $0.hasPrefix("lambda-xds/") }.sorted()
    let parsed = Result<LambdaFunction, CatalogError>(catching: { () throws(CatalogError) in
      let fromExtension = try extensions.isEmpty ? nil : Self.fromExtension(extensions, &warnings)
      let fromMeta = legacy.declaresLambda ? try legacy.function() : nil
      if let fromExtension, let fromMeta, fromExtension != fromMeta {
        throw CatalogError(
          "both EnvoyExtensions builtin/aws/lambda and the legacy Meta keys are set and they differ (\(fromExtension.arn) vs \(fromMeta.arn)); keep one")
      }
      if fromExtension != nil && fromMeta != nil {
        warnings.append("both the EnvoyExtensions and the legacy Meta forms are set (they agree); keep one")
      }
      let effective = entry.protocol.isEmpty ? inheritedProtocol : entry.protocol
      guard effective == "http" else {
        throw CatalogError(
          "service-defaults Protocol is \"\(effective.isEmpty ? "tcp (unset)" : effective)\"; a Lambda service needs \"http\"")
      }
      return try LambdaXDSMeta.apply(.object(meta), to: fromExtension ?? fromMeta!, warnings: &warnings)
    })
    var registration = LambdaRegistration(service: entry.name, source: source, function: parsed, warnings: warnings)
    registration.settingKeys = settingKeys
    return registration
  }

  public static let extensionName = "builtin/aws/lambda"

  private static func fromExtension(_ entries: [JSONValue], _ warnings: inout [String]) throws(CatalogError)
    -> LambdaFunction
  {
    guard entries.count == 1 else { throw CatalogError("builtin/aws/lambda is listed \(entries.count) times") }
    let arguments = entries[0]["Arguments"] ?? .null
    guard let object = arguments.object else {
      throw CatalogError("builtin/aws/lambda Arguments must be an object, not \(arguments.typeName)")
    }
    func argument(_ name: String) -> JSONValue? {
      object.first { JSONValue.sameIgnoringCase($0.key, name) }?.value
    }
    for key in object.keys where !Self.argumentNames.contains(where: { JSONValue.sameIgnoringCase(key, $0) }) {
      warnings.append(
        key.lowercased() == "region"
          ? "builtin/aws/lambda argument Region is ignored: the region comes from the ARN"
          : "unknown builtin/aws/lambda argument \"\(key)\" is ignored")
    }
    guard let arnValue = argument("ARN"), !arnValue.isNull else { throw CatalogError("builtin/aws/lambda: ARN is required") }
    guard let arnText = arnValue.string else { throw CatalogError("builtin/aws/lambda: ARN must be a string, not \(arnValue.typeName)") }
    var function = LambdaFunction(arn: try LambdaARN(arnText))
    if let value = argument("PayloadPassthrough"), !value.isNull {
      guard let flag = value.bool else {
        throw CatalogError("builtin/aws/lambda: PayloadPassthrough must be a boolean, not \(value.typeName)")
      }
      function.payloadPassthrough = flag
    }
    if let value = argument("InvocationMode"), !value.isNull {
      guard let text = value.string else {
        throw CatalogError("builtin/aws/lambda: InvocationMode must be a string, not \(value.typeName)")
      }
      function.invocationMode = try Self.invocationMode(text)
    }
    return function
  }

  static let argumentNames = ["ARN", "PayloadPassthrough", "InvocationMode"]

  static func invocationMode(_ text: String) throws(CatalogError) -> LambdaFunction.InvocationMode {
    guard let mode = LambdaFunction.InvocationMode(rawValue: text.lowercased()) else {
      throw CatalogError("unknown invocation mode \"\(text)\" (use synchronous or asynchronous)")
    }
    return mode
  }
}

/// lambda-xds's own per-service settings, in service-defaults `Meta` (Consul keeps any Meta, so
/// the same entry works in a real Consul). A bad endpoint or filter mode disables the service
/// (it cannot be reached as meant); a bad tuning value only drops that value, with a warning.
enum LambdaXDSMeta {
  static let endpoint = "lambda-xds/endpoint"
  static let filterMode = "lambda-xds/filter-mode"
  static let timeout = "lambda-xds/timeout"
  static let maxRequestBytes = "lambda-xds/max-request-bytes"
  static let signedHeaders = "lambda-xds/signed-headers"
  static let credentialsProfile = "lambda-xds/credentials-profile"
  static let functionErrorStatus = "lambda-xds/function-error-status"
  static let known = [endpoint, filterMode, timeout, maxRequestBytes, signedHeaders, credentialsProfile, functionErrorStatus]

  /// Below these an override is probably a mistake (`check` warns; the value is still used).
  static let saneMinimumTimeoutMilliseconds = 1_000
  static let saneMinimumRequestBytes = 64 * 1024

  static func apply(_ meta: JSONValue, to function: LambdaFunction, warnings: inout [String]) throws(CatalogError)
    -> LambdaFunction
  {
    var function = function
    let object = meta.object ?? [:]
    for key in object.keys where key.hasPrefix("lambda-xds/") && !known.contains(key) {
      warnings.append("unknown Meta key \(key) is ignored" + didYouMean(key, among: known))
    }
    if let value = object[endpoint] {
      guard let url = value.string else { throw CatalogError("Meta \(endpoint) must be a string") }
      function.endpoint = try LambdaEndpoint(url: url)
    }
    if let value = object[filterMode] {
      guard let text = value.string, let mode = LambdaFunction.FilterMode(rawValue: text.lowercased()) else {
        throw CatalogError("Meta \(filterMode) must be \"downstream\" or \"upstream\"")
      }
      function.filterMode = mode
    }
    func setting<T>(_ key: String, _ parse: (String) -> T?, expected: String) -> T? {
      guard let value = object[key] else { return nil }
      guard let text = value.string, let parsed = parse(text.trimmingWhitespace) else {
        warnings.append("Meta \(key) \(value.string.map { "\"\($0)\"" } ?? "<\(value.typeName)>") is not \(expected); ignored, using the default")
        return nil
      }
      return parsed
    }
    let maximumSeconds = LambdaFunction.maximumTimeoutMilliseconds / 1000
    if let milliseconds = setting(timeout, parseDurationMilliseconds, expected: "a duration of at most \(maximumSeconds)s such as 30s, 1500ms or 2m") {
      function.timeoutMilliseconds = milliseconds
      if milliseconds < saneMinimumTimeoutMilliseconds {
        warnings.append("Meta \(timeout) is \(milliseconds) ms, below 1 s: most invocations will time out")
      }
    }
    if let bytes = setting(maxRequestBytes, parseByteSize, expected: "a size of at most 6MiB such as 262144, 512KiB or 6MB") {
      function.maxRequestBytes = bytes
      if bytes < saneMinimumRequestBytes {
        warnings.append("Meta \(maxRequestBytes) is \(bytes) bytes, below 64 KiB: ordinary requests will get 413")
      }
    }
    if let headers = setting(signedHeaders, parseSignedHeaders, expected: "\"all\", \"default\" or a comma-separated list of header names (a trailing * for a prefix)") {
      function.signedHeaders = headers
    }
    if let profile = setting(credentialsProfile, { isProfileName($0) ? $0 : nil }, expected: "a profile name (letters, digits, - _ . @ +, at most 64)") {
      function.credentialsProfile = profile
    }
    if let status = setting(functionErrorStatus, parseFunctionErrorStatus, expected: "an HTTP status from 400 to 599 such as 502, or off") {
      function.functionErrorStatus = status
    }
    return function
  }

  /// `30s`, `1500ms`, `2m`, `1m30s` or bare seconds; positive and at most Lambda's 900 s.
  static func parseDurationMilliseconds(_ text: String) -> Int? {
    if let seconds = Int(text) { return (1...900).contains(seconds) ? seconds * 1000 : nil }
    var total = 0
    var rest = Substring(text.lowercased())
    guard !rest.isEmpty else { return nil }
    while !rest.isEmpty {
      let digits = rest.prefix { $0.isASCII && $0.isNumber }
      guard !digits.isEmpty, digits.count <= 7, let number = Int(digits) else { return nil }
      rest = rest.dropFirst(digits.count)
      let unit = rest.prefix { $0.isLetter }
      rest = rest.dropFirst(unit.count)
      switch unit {
      case "ms": total += number
      case "s": total += number * 1000
      case "m": total += number * 60_000
      default: return nil
      }
    }
    return (1...LambdaFunction.maximumTimeoutMilliseconds).contains(total) ? total : nil
  }

  /// Bytes, or with a unit (`KB`/`MB` decimal, `KiB`/`MiB` binary); at most 6 MiB.
  static func parseByteSize(_ text: String) -> Int? {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, digits.count <= 8, let number = Int(digits) else { return nil }
    let units = ["": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1_000_000, "mib": 1_048_576]
    guard let unit = units[text.dropFirst(digits.count).trimmingWhitespace.lowercased()] else { return nil }
    let bytes = number * unit
    return (1...LambdaFunction.maximumPayloadBytes).contains(bytes) ? bytes : nil
  }

  static func parseSignedHeaders(_ text: String) -> LambdaFunction.SignedHeaders? {
    switch text.lowercased() {
    case "all": return .all
    case "default": return .hygienic
    default:
      let names = text.split(separator: ",").map { $0.trimmingWhitespace.lowercased() }
      let token = Set("abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&'^`|~")
      let valid = names.allSatisfy { name in
        let stem = name.hasSuffix("*") ? name.dropLast() : Substring(name)
        return !stem.isEmpty && stem.allSatisfy(token.contains)
      }
      return valid && !names.isEmpty ? .only(names) : nil
    }
  }

  static func parseFunctionErrorStatus(_ text: String) -> LambdaFunction.FunctionErrorStatus? {
    if text.lowercased() == "off" { return .off }
    return Int(text).flatMap { (400...599).contains($0) ? .status($0) : nil }
  }

  /// The names AWS's credentials files use in practice.
  static func isProfileName(_ text: String) -> Bool {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@+")
    return (1...64).contains(text.count) && text.allSatisfy(allowed.contains)
  }
}

extension StringProtocol {
  var trimmingWhitespace: String {
    String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
  }
}

/// The legacy `serverless.consul.hashicorp.com/v1alpha1/lambda/*` Meta keys.
struct LegacyMeta {
  static let prefix = "serverless.consul.hashicorp.com/v1alpha1/lambda/"
  static let known = ["enabled", "arn", "region", "payload-passthrough", "invocation-mode"]

  var values: [String: String] = [:]
  var warnings: [String] = []

  init(_ meta: JSONValue) {
    for (key, value) in meta.object ?? [:] where key.hasPrefix(Self.prefix) {
      let suffix = String(key.dropFirst(Self.prefix.count))
      guard Self.known.contains(suffix) else {
        warnings.append("unknown Meta key \(key)" + didYouMean(suffix, among: Self.known, prefix: Self.prefix))
        continue
      }
      values[suffix] = value.string ?? "<\(value.typeName)>"
    }
    if !values.isEmpty && values["enabled"] != "true" {
      warnings.append("Lambda Meta keys are present but \(Self.prefix)enabled is not \"true\"; the service is not treated as a Lambda")
    }
  }

  var declaresLambda: Bool { values["enabled"] == "true" }

  func function() throws(CatalogError) -> LambdaFunction {
    guard let arnText = values["arn"], !arnText.isEmpty else { throw CatalogError("Meta \(Self.prefix)arn is required") }
    var function = LambdaFunction(arn: try LambdaARN(arnText))
    if let region = values["region"], region != function.arn.region {
      throw CatalogError("Meta region \(region) differs from the ARN's region \(function.arn.region)")
    }
    if let flag = values["payload-passthrough"] {
      guard flag == "true" || flag == "false" else {
        throw CatalogError("Meta payload-passthrough must be \"true\" or \"false\", not \"\(flag)\"")
      }
      function.payloadPassthrough = flag == "true"
    }
    if let mode = values["invocation-mode"] {
      function.invocationMode = try LambdaRegistration.invocationMode(mode)
    }
    return function
  }
}

/// ` (did you mean <prefix><closest>?)` when a known key is within 3 edits of `key`, else "".
func didYouMean(_ key: String, among known: [String], prefix: String = "") -> String {
  guard let hint = known.min(by: { editDistance($0, key) < editDistance($1, key) }), editDistance(hint, key) <= 3 else {
    return ""
  }
  return " (did you mean \(prefix)\(hint)?)"
}

/// Levenshtein distance, for "did you mean" hints on misspelled keys.
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a), b = Array(b)
  var row = Array(0...b.count)
  for i in 1...max(a.count, 1) where !a.isEmpty {
    var previous = row[0]
    row[0] = i
    for j in stride(from: 1, through: b.count, by: 1) {
      let current = row[j]
      row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.count]
}
