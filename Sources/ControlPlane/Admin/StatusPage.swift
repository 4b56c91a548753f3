import ADSServer
import Foundation
import ConsulCatalog
import Translation

/// `/ui`: one server-rendered HTML page for people: every proxy and how its Envoy answered,
/// every Lambda service with its route and findings. It refreshes itself every 5 s; no script,
/// no build step.
struct StatusPage {
  let proxies: [(node: String, kind: String, status: XDSStatusBoard.NodeStatus?)]
  let translation: CatalogTranslation?
  let ready: String?

  func html() -> String {
    var page = """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
      <title>lambda-xds</title>
      <style>
      body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
      table { border-collapse: collapse; margin-bottom: 1.5em; }
      th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
      th { background: #f3f3f3; } .ok { color: #176b2c; } .bad { color: #a31515; } code { font-size: 12px; }
      </style></head><body>
      <h1>lambda-xds \(Self.escape(LambdaXDSVersion.current))</h1>
      <p id="readiness" class="\(ready == nil ? "ok" : "bad")">\(Self.escape(ready.map { "Not ready: \($0)" } ?? "Ready"))</p>
      <h2>Proxies</h2>
      <table id="proxies"><tr><th>Node</th><th>Kind</th><th>Streams</th><th>Type</th><th>Sent</th><th>Acknowledged</th><th>Last NACK</th></tr>

      """
    for proxy in proxies {
      let types = (proxy.status?.types ?? [:]).sorted { $0.key < $1.key }
      let rows = max(types.count, 1)
      let head = """
        <td rowspan="\(rows)">\(Self.escape(proxy.node))</td><td rowspan="\(rows)">\(Self.escape(proxy.kind))</td>\
        <td rowspan="\(rows)">\(proxy.status?.streams ?? 0)\(proxy.status?.variant.map { " (\(Self.escape($0)))" } ?? "")</td>
        """
      if types.isEmpty {
        page += "<tr>\(head)<td colspan=\"4\">never connected</td></tr>\n"
        continue
      }
      for (index, (type, status)) in types.enumerated() {
        let acked = status.ackedVersion != nil && status.ackedVersion == status.lastSentVersion
        let nack = status.rejection.map { "<span class=\"bad\">\(Self.escape($0.version)): \(Self.escape($0.message))</span>" } ?? ""
        page += "<tr>\(index == 0 ? head : "")<td>\(Self.escape(type))</td><td><code>\(Self.escape(status.lastSentVersion ?? ""))</code></td>"
          + "<td class=\"\(acked ? "ok" : "bad")\"><code>\(Self.escape(status.ackedVersion ?? "-"))</code></td><td>\(nack)</td></tr>\n"
      }
    }
    page += "</table>\n<h2>Lambda services</h2>\n<table id=\"lambdas\"><tr><th>Service</th><th>Route</th><th>Function</th><th>Findings</th></tr>\n"
    let plan = translation?.plan
    let findings = Dictionary(grouping: plan?.findings ?? [], by: \.service)
    for (service, route) in (plan?.routes ?? [:]).sorted(by: { $0.key < $1.key }) {
      let path: String
      switch route {
      case .direct: path = "direct from the caller's sidecar"
      case .gated(_, let gateways, _): path = "through " + gateways.joined(separator: ", ")
      case .excluded(let reason): path = "excluded: \(reason)"
      }
      let notes = (findings[service] ?? []).map { "<div class=\"\($0.severity == .error ? "bad" : "")\">\(Self.escape($0.description))</div>" }
      page += "<tr><td>\(Self.escape(service))</td><td>\(Self.escape(path))</td>"
        + "<td><code>\(Self.escape(route.function?.arn.description ?? ""))</code></td><td>\(notes.joined())</td></tr>\n"
    }
    page += "</table>\n</body></html>\n"
    return page
  }

  static func escape(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count)
    for character in text {
      switch character {
      case "&": escaped += "&amp;"
      case "<": escaped += "&lt;"
      case ">": escaped += "&gt;"
      case "\"": escaped += "&quot;"
      case "'": escaped += "&#39;"
      default: escaped.append(character)
      }
    }
    return escaped
  }
}
