public import Foundation

/// lambda-xds's per-service settings kept outside `service-defaults`: Consul KV under
/// `lambda-xds/services/<service>`, a JSON object of the Meta keys without their `lambda-xds/`
/// prefix (`{"timeout": "30s"}`). consul-lambda-registrator rewrites service-defaults wholesale
/// and drops Meta; it never touches KV. Per key, KV wins over Meta.
public enum LambdaSettingsKV {
  public static let prefix = "lambda-xds/services/"

  /// Service -> its settings, from `(key, value)` pairs; a value that is not JSON stays as the
  /// string it was, for ``LambdaRegistration/parse(_:inheritedProtocol:settings:)`` to report.
  public static func settings(_ pairs: some Sequence<(key: String, value: JSONValue)>) -> [String: JSONValue] {
    var result: [String: JSONValue] = [:]
    for (key, value) in pairs where key.hasPrefix(prefix) {
      let service = String(key.dropFirst(prefix.count))
      guard !service.isEmpty, !service.contains("/"), service.utf8.count <= CatalogLimits.maxNameLength else { continue }
      if case .string(let text) = value, let parsed = try? JSONValue(parsing: Data(text.utf8)) {
        result[service] = parsed
      } else {
        result[service] = value
      }
    }
    return result
  }

  /// The Meta keys a settings object stands for (`timeout` -> `lambda-xds/timeout`).
  static func metaKeys(_ settings: [String: JSONValue]) -> [String: JSONValue] {
    Dictionary(uniqueKeysWithValues: settings.map { ("lambda-xds/" + $0.key, $0.value) })
  }
}

extension ConsulAnswers {
  /// `/v1/kv/lambda-xds/services/?recurse`: each entry's base64 `Value` decoded (nil and 404:
  /// no settings at all).
  public static func lambdaSettings(fromKV body: JSONValue?) -> [String: JSONValue] {
    LambdaSettingsKV.settings((body?.array ?? []).compactMap { entry in
      guard let key = entry["Key"]?.string else { return nil }
      let data = entry["Value"]?.string.flatMap { Data(base64Encoded: $0) } ?? Data()
      return (key, .string(String(decoding: data, as: UTF8.self)))
    })
  }
}
