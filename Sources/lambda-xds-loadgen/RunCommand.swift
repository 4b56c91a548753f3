import ArgumentParser
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

enum Scenario: String, ExpressibleByArgument, Codable, Sendable {
  case storm, converge, idle
}

/// Simulated Envoys against a server: a cold-start storm, convergence after a change, or an
/// idle hold (for the server's memory per connected proxy).
struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run simulated Envoys against an ADS server and measure.",
    discussion: """
      Each client has its own HTTP/2 connection and one ADS stream (state of the world, or delta
      with --delta), subscribes in Envoy's order (CDS wildcard; EDS for the EDS clusters and SDS
      for the secrets the clusters name; LDS wildcard once endpoints are in; RDS and SDS for what
      the listeners name) and ACKs every response. A client is "ready" once every type it
      subscribed to has been answered (listeners included). Client i uses line i of --nodes
      (wrapping around when --count exceeds the file).

      storm:    start --count clients at once; per client the time from the start until ready.
      converge: start, settle (everyone ready, then --settle-ms without any response), apply the
                change (--catalog with --change one|all rewrites the catalog file; or
                --change-command), and per affected client the time until its first response
                after the change (and until its last, once quiet again); --repeat times.
      idle:     start, settle, write --ready-file, hold --hold seconds, exit.

      Examples:
        lambda-xds-loadgen run --server 127.0.0.1:18000 --nodes nodes.txt --scenario storm --count 1000
        lambda-xds-loadgen run --server 127.0.0.1:18000 --nodes nodes.txt --scenario converge \\
          --catalog catalog.json --change all --repeat 3 --json converge.json
      """)

  @Option(help: "The ADS server, HOST:PORT.") var server: String
  @Option(help: "Node ids, one a line (lambda-xds-loadgen catalog --nodes-out).") var nodes: String
  @Option(help: "storm | converge | idle") var scenario: Scenario
  @Option(help: "Clients (default: one per line of --nodes).") var count: Int?
  @Flag(help: "Delta ADS (DeltaAggregatedResources) instead of state of the world.") var delta = false
  @Option(help: "Write every figure as JSON here.") var json: String?
  @Option(help: "converge: the catalog file to edit (a generated one).") var catalog: String?
  @Option(help: "converge: one | all (with --catalog).") var change: MutationScope?
  @Option(help: "converge: run this shell command as the change instead (e.g. kill -USR1 PID).")
  var changeCommand: String?
  @Option(help: "converge with --change-command: node ids that must observe it, one a line (default: every client).")
  var affectedFile: String?
  @Option(name: .customLong("repeat"), help: "converge: how many changes to measure.") var repeats = 1
  @Option(help: "Quiet period that counts as settled, in milliseconds.") var settleMs = 300
  @Option(help: "Seconds to wait for any phase before reporting what did not happen.") var timeout: Double = 120
  @Option(help: "idle: seconds to hold the connections.") var hold: Double = 10
  @Option(help: "idle: create this file once settled (so a script can read the server's memory).")
  var readyFile: String?
  @Option(help: "A label for the JSON report.") var label: String?

  func validate() throws {
    if scenario == .converge, changeCommand == nil, catalog == nil || change == nil {
      throw ValidationError("converge needs --catalog and --change, or --change-command")
    }
    if let count, count < 1 { throw ValidationError("--count must be at least 1") }
  }

  func run() async throws {
    let fileLimit = raiseFileLimit()
    let server = try HostPort(self.server)
    let nodeList = try NodeIdentity.load(nodes)
    let clients = count ?? nodeList.count
    if fileLimit < UInt64(clients) + 64 {
      printError("warning: open-file limit \(fileLimit) is below \(clients) connections")
    }
    let run = FleetRun(server: server, nodes: nodeList, count: clients, delta: delta)
    let cpuBefore = processCPUSeconds()
    let wallBefore = monotonicNanos()
    var report = RunReport(
      scenario: scenario, label: label, server: server.description, clients: clients, delta: delta)
    var lines: [String] = []

    try await run.withClients { start in
      switch scenario {
      case .storm:
        let complete = await run.wait(timeout: timeout) { run.everyoneDone }
        let figures = StormFigures(run.fleet.snapshot(), start: start, end: monotonicNanos(), complete: complete)
        report.storm = figures
        lines.append(figures.line(clients: clients))
      case .idle:
        let settled = await run.settle(quietMs: settleMs, timeout: timeout)
        let stats = run.fleet.snapshot()
        report.idle = IdleFigures(
          settled: settled, ready: stats.filter { $0.readyAt != 0 }.count,
          failed: stats.filter { $0.error != nil }.count, holdSeconds: hold)
        if let readyFile { _ = FileManager.default.createFile(atPath: readyFile, contents: Data("\(getpid())\n".utf8)) }
        lines.append("idle clients=\(clients) ready=\(report.idle!.ready) failed=\(report.idle!.failed) settled=\(settled) hold=\(hold)s")
        try await Task.sleep(for: .seconds(hold))
      case .converge:
        let settled = await run.settle(quietMs: settleMs, timeout: timeout)
        let stats = run.fleet.snapshot()
        let ready = stats.filter { $0.readyAt != 0 }.count
        lines.append("converge clients=\(clients) ready=\(ready) settled=\(settled)")
        guard ready > 0 else { break }
        for round in 0..<repeats {
          let figures = try await converge(run, round: round)
          report.converge.append(figures)
          lines.append(figures.line)
        }
      }
    }

    let cpuAfter = processCPUSeconds()
    report.clientCPUUserSeconds = cpuAfter.user - cpuBefore.user
    report.clientCPUSystemSeconds = cpuAfter.system - cpuBefore.system
    report.wallSeconds = Double(monotonicNanos() - wallBefore) / 1e9
    // The clients' share of one core over the run; near 1 the clients, not the server, set the pace.
    let busy = (report.clientCPUUserSeconds + report.clientCPUSystemSeconds) / max(report.wallSeconds, 1e-9)
    report.clientCoreUtilization = (busy * 1000).rounded() / 1000
    if scenario == .storm, busy > 0.8, report.wallSeconds > 0.5 {
      printError(
        String(format: "warning: the clients used %.0f%% of a core: this storm is paced by the client as much as by the server", busy * 100))
    }
    report.clientRSSKiB = residentKiB()
    report.responses = run.fleet.responses.load(ordering: .relaxed)
    report.responseBytes = run.fleet.bytes.load(ordering: .relaxed)
    let cpuLine = String(
      format: " client-cpu=%.2fs+%.2fs client-rss=%dMiB responses=%d",
      report.clientCPUUserSeconds, report.clientCPUSystemSeconds, report.clientRSSKiB / 1024, report.responses)
    for (index, line) in lines.enumerated() { print(index == lines.count - 1 ? line + cpuLine : line) }
    if let json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      try encoder.encode(report).write(to: URL(fileURLWithPath: json))
    }
    if scenario == .storm, report.storm?.complete != true { throw ExitCode(2) }
    if scenario == .converge, report.converge.isEmpty || report.converge.contains(where: { $0.missed > 0 }) {
      throw ExitCode(2)
    }
  }

  /// One change: applied, then measured until every affected client has seen a response and the
  /// fleet is quiet again.
  private func converge(_ run: FleetRun, round: Int) async throws -> ConvergeFigures {
    var affected: Set<String>
    var summary: String
    var mutation: CatalogMutation?
    if let changeCommand {
      summary = changeCommand
      if let affectedFile {
        affected = Set(try NodeIdentity.load(affectedFile).map(\.id))
      } else {
        affected = Set(run.nodes.map(\.id))
      }
      _ = changeCommand
    } else {
      let prepared = try CatalogMutation.prepare(path: catalog!, scope: change!)
      mutation = prepared
      affected = prepared.affected
      summary = prepared.summary
    }
    let expected = Set(run.nodes.indices.filter { affected.contains(run.nodes[$0].id) })

    run.fleet.setMark(0)
    let mark = monotonicNanos()
    run.fleet.mark.store(mark, ordering: .sequentiallyConsistent)
    if let mutation {
      try mutation.apply()
    } else if let changeCommand {
      let status = runShell(changeCommand)
      if status != 0 { printError("warning: --change-command exited \(status)") }
    }

    let observed = await run.wait(timeout: timeout) {
      expected.allSatisfy { run.fleet.probes[$0].stats.withLock { $0.afterMark.first != 0 } }
    }
    _ = await run.wait(timeout: timeout) { run.isQuiet(settleMs) }
    let stats = run.fleet.snapshot()
    run.fleet.mark.store(0, ordering: .sequentiallyConsistent)
    return ConvergeFigures(
      round: round, change: summary, stats: stats, expected: expected, mark: mark, complete: observed)
  }

  /// Through `system(3)`: Foundation's `Process.run()` can crash on Linux (see TestSupport's
  /// ChildProcess).
  private func runShell(_ command: String) -> Int32 {
    let status = system(command)
    return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
  }
}

struct RunReport: Codable, Sendable {
  var scenario: Scenario
  var label: String?
  var server: String
  var clients: Int
  var delta: Bool
  var storm: StormFigures?
  var converge: [ConvergeFigures] = []
  var idle: IdleFigures?
  var responses = 0
  var responseBytes = 0
  var clientCPUUserSeconds = 0.0
  var clientCPUSystemSeconds = 0.0
  var clientRSSKiB = 0
  var wallSeconds = 0.0
  /// Client CPU seconds per wall-clock second (1.0: one core fully busy).
  var clientCoreUtilization = 0.0
}

struct StormFigures: Codable, Sendable {
  var complete: Bool
  var ready: Int
  var failed: Int
  var notReady: Int
  /// Start of the storm until each client was ready.
  var ready_ms: Distribution
  /// Start of the storm until each client's first response.
  var firstResponse_ms: Distribution
  /// Start of the storm until the last client was ready (or the timeout).
  var totalMs: Double
  var responses: Int
  var responsesPerClient: Double
  var firstError: String?

  init(_ stats: [ClientStats], start: UInt64, end: UInt64, complete: Bool) {
    let ready = stats.filter { $0.readyAt != 0 }
    self.complete = complete && ready.count == stats.count
    self.ready = ready.count
    failed = stats.filter { $0.error != nil && $0.readyAt == 0 }.count
    notReady = stats.count - ready.count
    ready_ms = Distribution(nanos: ready.map { $0.readyAt - start })
    firstResponse_ms = Distribution(nanos: stats.filter { $0.firstResponseAt != 0 }.map { $0.firstResponseAt - start })
    let last = ready.map(\.readyAt).max() ?? end
    totalMs = Double((complete ? last : end) - start) / 1e6
    responses = stats.reduce(0) { $0 + $1.responses }
    responsesPerClient = stats.isEmpty ? 0 : Double(responses) / Double(stats.count)
    firstError = stats.lazy.compactMap(\.error).first
  }

  func line(clients: Int) -> String {
    var text =
      "storm clients=\(clients) ready=\(ready) failed=\(failed) ready-ms: \(ready_ms.line) total=\(fmt(totalMs))ms responses/client=\(fmt(responsesPerClient))"
    if let firstError, !complete { text += " first-error=\"\(firstError.prefix(200))\"" }
    return text
  }
}

struct ConvergeFigures: Codable, Sendable {
  var round: Int
  var change: String
  var complete: Bool
  /// Clients that had to observe the change.
  var expected: Int
  /// Of those, how many saw no response after it (within the timeout).
  var missed: Int
  /// Clients not expected to observe it that were sent something anyway.
  var unexpected: Int
  /// The change until each affected client's first response after it.
  var first_ms: Distribution
  /// The change until each affected client's last response after it (once quiet again).
  var last_ms: Distribution
  var responses: Int
  /// Types of the first response after the change, and how many clients got each.
  var firstTypes: [String: Int]

  init(round: Int, change: String, stats: [ClientStats], expected: Set<Int>, mark: UInt64, complete: Bool) {
    self.round = round
    self.change = change
    self.complete = complete
    self.expected = expected.count
    var first: [UInt64] = []
    var last: [UInt64] = []
    var missed = 0
    var unexpected = 0
    var responses = 0
    var types: [String: Int] = [:]
    for (index, stat) in stats.enumerated() {
      let after = stat.afterMark
      responses += after.responses
      if expected.contains(index) {
        if after.first == 0 {
          missed += 1
        } else {
          first.append(after.first - mark)
          last.append(after.last - mark)
          types[after.firstType?.short ?? "?", default: 0] += 1
        }
      } else if after.responses > 0 {
        unexpected += 1
      }
    }
    self.missed = missed
    self.unexpected = unexpected
    self.responses = responses
    first_ms = Distribution(nanos: first)
    last_ms = Distribution(nanos: last)
    firstTypes = types
  }

  var line: String {
    "converge round=\(round) change=\"\(change)\" expected=\(expected) missed=\(missed) unexpected=\(unexpected) first-ms: \(first_ms.line) last-max=\(fmt(last_ms.maxMs))ms responses=\(responses) types=\(firstTypes.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))"
  }
}

struct IdleFigures: Codable, Sendable {
  var settled: Bool
  var ready: Int
  var failed: Int
  var holdSeconds: Double
}
