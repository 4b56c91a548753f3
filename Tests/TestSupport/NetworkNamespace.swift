public import Foundation
#if canImport(Glibc)
  import Glibc
#endif

/// A network namespace of the test's own, joined to the test's namespace by a veth pair: a
/// second host on one machine, for transparent-proxy tests (iptables redirects apply only
/// inside it). Deleted by ``stop()``; scripts/test.sh deletes any a crashed test left behind.
public final class NetworkNamespace: @unchecked Sendable {
  public let name: String
  /// Our end of the veth pair (reachable from inside).
  public let hostAddress: String
  /// The namespace's end (reachable from the test).
  public let address: String

  static let ip = "/usr/sbin/ip"
  static let iptables = "/usr/sbin/iptables"

  /// Why namespaces cannot be used on this machine; nil when they can.
  public static let unavailableReason: String? = {
    guard getuid() == 0 else { return "network namespaces need root" }
    for tool in [ip, iptables] where !FileManager.default.isExecutableFile(atPath: tool) {
      return "\(tool) is missing (Debian: iproute2, iptables)"
    }
    let probe = "lxds-probe-\(getpid())"
    guard let added = try? ChildRun.run(ip, ["netns", "add", probe], timeout: 10), added.status == 0 else {
      return "ip netns add is not permitted here"
    }
    _ = try? ChildRun.run(ip, ["netns", "del", probe], timeout: 10)
    return nil
  }()

  /// Creates the namespace with loopback up, a veth pair on a random /30 of 10.200-249.x.x, and
  /// a default route through our end.
  public static func create() throws -> NetworkNamespace {
    let tag = UUID().uuidString.prefix(6).lowercased()
    let subnet = "10.\(Int.random(in: 200...249)).\(Int.random(in: 0...255))"
    let namespace = NetworkNamespace(name: "lxds-\(tag)", hostAddress: "\(subnet).1", address: "\(subnet).2")
    try "\(namespace.name)\n".write(
      to: testRunDirectory.appendingPathComponent("\(namespace.name).netns"), atomically: true, encoding: .utf8)
    let (outside, inside) = ("lxh\(tag)", "lxn\(tag)")
    do {
      try Self.must(ip, ["netns", "add", namespace.name])
      try Self.must(ip, ["link", "add", outside, "type", "veth", "peer", "name", inside])
      try Self.must(ip, ["link", "set", inside, "netns", namespace.name])
      try Self.must(ip, ["addr", "add", "\(namespace.hostAddress)/30", "dev", outside])
      try Self.must(ip, ["link", "set", outside, "up"])
      try namespace.must(ip, ["link", "set", "lo", "up"])
      try namespace.must(ip, ["addr", "add", "\(namespace.address)/30", "dev", inside])
      try namespace.must(ip, ["link", "set", inside, "up"])
      try namespace.must(ip, ["route", "add", "default", "via", namespace.hostAddress])
    } catch {
      namespace.stop()
      throw error
    }
    return namespace
  }

  private init(name: String, hostAddress: String, address: String) {
    self.name = name
    self.hostAddress = hostAddress
    self.address = address
  }

  deinit { stop() }

  /// `command` run inside the namespace (`ip netns exec` keeps the PID, so it can be stopped by it).
  public func command(_ command: [String]) -> [String] { [Self.ip, "netns", "exec", name] + command }

  /// Runs a program inside the namespace to completion; `user` runs it under that UID and GID.
  public func run(_ arguments: [String], user: Int? = nil, timeout: Double = 30) throws -> ChildRun {
    let asUser = user.map { ["/usr/bin/setpriv", "--reuid=\($0)", "--regid=\($0)", "--clear-groups"] } ?? []
    let full = command(asUser + arguments)
    return try ChildRun.run(full[0], Array(full.dropFirst()), timeout: timeout)
  }

  /// The outbound redirect `consul connect redirect-traffic` installs: every TCP connection an
  /// application opens goes to the proxy's outbound listener, except the proxy's own (its UID)
  /// and loopback traffic.
  public func redirectOutbound(toPort port: Int, proxyUID: Int) throws {
    for rule in [
      ["-N", "CONSUL_PROXY_REDIRECT"],
      ["-A", "CONSUL_PROXY_REDIRECT", "-p", "tcp", "-j", "REDIRECT", "--to-ports", "\(port)"],
      ["-N", "CONSUL_PROXY_OUTPUT"],
      ["-A", "OUTPUT", "-p", "tcp", "-j", "CONSUL_PROXY_OUTPUT"],
      ["-A", "CONSUL_PROXY_OUTPUT", "-m", "owner", "--uid-owner", "\(proxyUID)", "-j", "RETURN"],
      ["-A", "CONSUL_PROXY_OUTPUT", "-d", "127.0.0.1/32", "-j", "RETURN"],
      ["-A", "CONSUL_PROXY_OUTPUT", "-j", "CONSUL_PROXY_REDIRECT"],
    ] {
      try must(Self.iptables, ["-t", "nat"] + rule)
    }
  }

  /// Deletes the namespace (and with it the veth pair and every rule).
  public func stop() {
    _ = try? ChildRun.run(Self.ip, ["netns", "del", name], timeout: 10)
    try? FileManager.default.removeItem(at: testRunDirectory.appendingPathComponent("\(name).netns"))
  }

  private func must(_ executable: String, _ arguments: [String]) throws {
    let full = command([executable] + arguments)
    try Self.must(full[0], Array(full.dropFirst()))
  }

  private static func must(_ executable: String, _ arguments: [String]) throws {
    let result = try ChildRun.run(executable, arguments, timeout: 10)
    guard result.status == 0 else {
      throw EnvoyError("\(executable) \(arguments.joined(separator: " ")): \(result.stderr)")
    }
  }
}
