import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Nanoseconds on the monotonic clock (CLOCK_MONOTONIC): every timestamp the loadgen takes.
func monotonicNanos() -> UInt64 {
  var spec = timespec()
  clock_gettime(CLOCK_MONOTONIC, &spec)
  return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Raises the soft open-file limit to the hard one: 10,000 connections need 10,000 descriptors.
@discardableResult
func raiseFileLimit() -> UInt64 {
  var limit = rlimit()
  guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
  if limit.rlim_cur < limit.rlim_max {
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
  }
  return UInt64(limit.rlim_cur)
}

/// This process's user and system CPU time, in seconds.
func processCPUSeconds() -> (user: Double, system: Double) {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
  return (seconds(usage.ru_utime), seconds(usage.ru_stime))
}

/// This process's resident set size (VmRSS), in KiB; 0 when unknown.
func residentKiB() -> Int {
  guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
  for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
  }
  return 0
}

struct HostPort: Sendable, CustomStringConvertible {
  var host: String
  var port: Int

  init(_ text: String) throws {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
      (0...65535).contains(port)
    else { throw LoadgenError("expected HOST:PORT, got '\(text)'") }
    host = String(text[..<colon])
    if host.isEmpty { host = "127.0.0.1" }
    self.port = port
  }

  var description: String { "\(host):\(port)" }
}

struct LoadgenError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// A proxy as Envoy identifies itself: `node.id` is the proxy registration's service id and
/// `node.cluster` the proxy's service (what `lambda-xds bootstrap` puts there).
struct NodeIdentity: Sendable, Hashable {
  var id: String
  var cluster: String

  init(id: String, cluster: String? = nil) {
    self.id = id
    if let cluster {
      self.cluster = cluster
    } else if id.hasSuffix("-sidecar-proxy") {
      self.cluster = String(id.dropLast("-sidecar-proxy".count))
    } else if id.hasPrefix("terminating-gateway") {
      self.cluster = "terminating-gateway"
    } else {
      self.cluster = id
    }
  }

  /// nodes.txt: one node id per line, optionally followed by whitespace and the node cluster;
  /// blank lines and `#` comments are skipped.
  static func load(_ path: String) throws -> [NodeIdentity] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var nodes: [NodeIdentity] = []
    for line in text.split(separator: "\n") {
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard let first = fields.first, !first.hasPrefix("#") else { continue }
      nodes.append(NodeIdentity(id: String(first), cluster: fields.count > 1 ? String(fields[1]) : nil))
    }
    guard !nodes.isEmpty else { throw LoadgenError("\(path) lists no node ids") }
    return nodes
  }
}

/// Distribution of a set of durations (nanoseconds), reported in milliseconds.
struct Distribution: Codable, Sendable {
  var count: Int
  var minMs: Double
  var p50Ms: Double
  var p90Ms: Double
  var p99Ms: Double
  var maxMs: Double
  var meanMs: Double

  init(nanos: [UInt64]) {
    let sorted = nanos.sorted()
    count = sorted.count
    func ms(_ value: UInt64) -> Double { (Double(value) / 1_000_000 * 1000).rounded() / 1000 }
    func rank(_ q: Double) -> Double {
      guard !sorted.isEmpty else { return 0 }
      let index = min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
      return ms(sorted[index])
    }
    minMs = sorted.first.map(ms) ?? 0
    maxMs = sorted.last.map(ms) ?? 0
    p50Ms = rank(0.5)
    p90Ms = rank(0.9)
    p99Ms = rank(0.99)
    meanMs =
      sorted.isEmpty ? 0 : (Double(sorted.reduce(0, +)) / Double(sorted.count) / 1_000_000 * 1000).rounded() / 1000
  }

  var line: String {
    "n=\(count) min=\(fmt(minMs)) p50=\(fmt(p50Ms)) p99=\(fmt(p99Ms)) max=\(fmt(maxMs)) ms"
  }
}

func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

/// Writes `data` to `path` atomically: a temporary file in the same directory, then rename(2).
func writeAtomically(_ data: Data, to path: String) throws {
  let temporary = path + ".tmp-\(getpid())"
  try data.write(to: URL(fileURLWithPath: temporary))
  guard rename(temporary, path) == 0 else {
    unlink(temporary)
    throw LoadgenError("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
  }
}

func printError(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}
