import ArgumentParser

/// A `HOST:PORT` argument (IPv6 hosts in brackets: `[::1]:18000`).
struct HostPort: ExpressibleByArgument, Sendable, CustomStringConvertible {
  var host: String
  var port: Int

  init?(argument: String) {
    guard let colon = argument.lastIndex(of: ":"),
      let port = Int(argument[argument.index(after: colon)...]), (0...65535).contains(port)
    else { return nil }
    var host = String(argument[..<colon])
    if host.hasPrefix("[") && host.hasSuffix("]") {
      host = String(host.dropFirst().dropLast())
    } else if host.contains(":") {
      return nil  // an IPv6 address needs its brackets: [::]:18000
    }
    guard !host.isEmpty else { return nil }
    self.host = host
    self.port = port
  }

  var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
