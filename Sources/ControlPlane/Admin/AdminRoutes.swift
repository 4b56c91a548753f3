import ADSServer
import ConsulCatalog
import Foundation
import ResourceCache
import Translation

/// The admin API of `serve` (read-only, JSON): what the server holds for each proxy, what it
/// sent, how the proxy answered, and what translating costs. `dump --server` reads it.
struct AdminRoutes: Sendable {
  let cache: SnapshotCache
  let status: XDSStatusBoard
  let pipeline: ConfigurationPipeline
  let readiness: Readiness
  let metrics: ServerMetrics
  /// Open xDS streams now.
  var openStreams: @Sendable () -> Int = { 0 }

  struct Response {
    var status: Int
    var contentType = "application/json"
    var body: String
  }

  func respond(path: String) -> Response {
    let parts = path.split(separator: "?").first.map { $0.split(separator: "/").map(String.init) } ?? []
    do {
      switch parts {
      case ["healthz"]:
        return Response(status: 200, contentType: "text/plain", body: "ok\n")
      case ["readyz"]:
        guard let reason = readiness.notReadyReason else { return Response(status: 200, contentType: "text/plain", body: "ready\n") }
        return Response(status: 503, contentType: "text/plain", body: "not ready: \(reason)\n")
      case ["ui"]:
        return Response(status: 200, contentType: "text/html; charset=utf-8", body: statusPage().html())
      case ["metrics"]:
        return Response(status: 200, contentType: "text/plain; version=0.0.4", body: metrics.exposition())
      case ["v1", "proxies"]:
        return try json(proxies())
      case ["v1", "findings"]:
        return try json(findings(node: nil))
      case ["v1", "pipeline"]:
        return try json(pipeline.statistics)
      case ["v1", "streams"]:
        return try json(Streams(open: openStreams(), unknownNodes: status.unknownNodes, recentRefusals: status.recentRefusals))
      case let route where route.count == 4 && route[0] == "v1" && route[1] == "proxies":
        return try proxy(route[2], route[3])
      default:
        return Response(status: 404, body: #"{"error":"unknown path; try /v1/proxies"}"#)
      }
    } catch {
      return Response(status: 500, body: #"{"error":"\#(error)"}"#)
    }
  }

  private func proxy(_ node: String, _ view: String) throws -> Response {
    guard let snapshot = cache.snapshot(for: node) else {
      let known = cache.nodeIDs.joined(separator: ", ")
      return Response(status: 404, body: try encode(["error": "no proxy \(node); known: \(known)"]))
    }
    switch view {
    case "config_dump": return Response(status: 200, body: try EnvoyJSON.canonical(try snapshot.configDump()))
    case "status": return try json(status.status(of: node))  // null: never connected
    case "findings": return try json(findings(node: node))
    default: return Response(status: 404, body: #"{"error":"use config_dump, status or findings"}"#)
    }
  }

  /// Open streams, those whose node id is not (yet) a proxy of the catalog, and the newest refusals.
  private struct Streams: Encodable {
    var open: Int
    var unknownNodes: [String]
    var recentRefusals: [XDSStatusBoard.Refusal]
  }

  private struct ProxySummary: Encodable {
    var node: String
    var streams: Int
    var variant: String?
    var errors: Int
    var warnings: Int
  }

  private func statusPage() -> StatusPage {
    let translation = pipeline.latest
    let proxies = cache.nodeIDs.map { node in
      (node: node, kind: translation?.proxies[node]?.kind.rawValue ?? "", status: status.status(of: node))
    }
    return StatusPage(proxies: proxies, translation: translation, ready: readiness.notReadyReason)
  }

  private func proxies() -> [ProxySummary] {
    let translation = pipeline.latest
    return cache.nodeIDs.map { node in
      let nodeStatus = status.status(of: node)
      let findings = translation?.proxies[node]?.findings ?? []
      return ProxySummary(
        node: node, streams: nodeStatus?.streams ?? 0, variant: nodeStatus?.variant,
        errors: findings.filter { $0.severity == .error }.count, warnings: findings.filter { $0.severity == .warning }.count)
    }
  }

  private func findings(node: String?) -> [String] {
    guard let translation = pipeline.latest else { return [] }
    if let node { return translation.proxies[node]?.findings.map(\.description) ?? [] }
    return translation.report
  }

  private func json(_ value: some Encodable) throws -> Response { Response(status: 200, body: try encode(value)) }

  private func encode(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
  }
}
