import Foundation
import Logging

/// One JSON object per line on standard error, for log shippers: `time`, `level`, `label`,
/// `message`, then the metadata as string fields.
struct JSONLogHandler: LogHandler {
  let label: String
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var fields: [String: String] = [:]
    for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
    fields["time"] = Date().formatted(.iso8601)
    fields["level"] = event.level.rawValue
    fields["label"] = label
    fields["source"] = event.source
    fields["message"] = "\(event.message)"
    guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
    else { return }
    line.append(0x0A)
    FileHandle.standardError.write(line)
  }
}
