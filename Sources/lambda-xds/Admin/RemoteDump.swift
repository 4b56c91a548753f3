import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `dump --server`: what a running `serve` holds for a proxy, what it sent, and how the proxy
/// answered (ACK, or NACK with Envoy's error).
enum RemoteDump {
  struct Result {
    var configDump: String
    /// Per resource type: sent and acknowledged versions, rejections; then the findings.
    var report: String
  }

  static func fetch(server: String, nodeID: String) async throws -> Result {
    let base = server.hasSuffix("/") ? String(server.dropLast()) : server
    let node = nodeID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? nodeID
    let (dumpStatus, dump) = try await get("\(base)/v1/proxies/\(node)/config_dump")
    guard dumpStatus == 200 else {
      let message = (try? JSONSerialization.jsonObject(with: Data(dump.utf8)) as? [String: String])?["error"] ?? dump
      throw CommandError("\(server): \(message)")
    }
    let (_, statusBody) = try await get("\(base)/v1/proxies/\(node)/status")
    let (_, findingsBody) = try await get("\(base)/v1/proxies/\(node)/findings")
    var lines: [String] = []
    if let status = try JSONSerialization.jsonObject(with: Data(statusBody.utf8), options: .fragmentsAllowed) as? [String: Any] {
      lines.append("streams: \(status["streams"] ?? 0) (\(status["variant"] ?? "?"))")
      for (type, value) in (status["types"] as? [String: [String: Any]] ?? [:]).sorted(by: { $0.key < $1.key }) {
        var line = "\(type): sent \(value["lastSentVersion"] ?? "-") (\(value["responsesSent"] ?? 0) responses), acknowledged \(value["ackedVersion"] ?? "-")"
        if let rejection = value["rejection"] as? [String: Any] {
          line += "; REJECTED version \(rejection["version"] ?? "?"): \(rejection["message"] ?? "")"
        }
        lines.append(line)
      }
    } else {
      lines.append("the proxy has not connected")
    }
    let findings = (try? JSONSerialization.jsonObject(with: Data(findingsBody.utf8)) as? [String]) ?? []
    lines += findings
    return Result(configDump: dump, report: lines.map { $0 + "\n" }.joined())
  }

  private static func get(_ url: String) async throws -> (Int, String) {
    let response: HTTPClientResponse
    do {
      response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    } catch {
      throw CommandError("cannot reach \(url): \(error)")
    }
    let body = try await response.body.collect(upTo: 256 * 1024 * 1024)
    return (Int(response.status.code), String(buffer: body))
  }
}
