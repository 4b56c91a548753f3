import ArgumentParser
import Foundation
import Synchronization

/// Connects every node once to a server and keeps the exact bytes of every response it sends.
struct RecordCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "record",
    abstract: "Record the exact DiscoveryResponse bytes a server sends each node (for `bare`).",
    discussion: """
      Every distinct node of --nodes connects once (all at once, as in `run --scenario storm`);
      once all are configured and the streams are quiet the responses so far are phase 0. With
      --catalog and --change the catalog file is then edited and the responses that follow are
      phase 1 (what `bare` pushes on SIGUSR1).

      Example:
        lambda-xds-loadgen record --server 127.0.0.1:18000 --nodes nodes.txt --out ours.rec \\
          --catalog catalog.json --change all
      """)

  @Option(help: "The ADS server, HOST:PORT.") var server: String
  @Option(help: "Node ids, one a line.") var nodes: String
  @Option(help: "The recording to write.") var out: String
  @Flag(help: "Record delta ADS (DeltaDiscoveryResponse) instead of state of the world.") var delta = false
  @Option(help: "The catalog file to edit for the phase-1 recording.") var catalog: String?
  @Option(help: "one | all: the change recorded as phase 1.") var change: MutationScope?
  @Option(help: "Quiet period that counts as settled, in milliseconds.") var settleMs = 500
  @Option(help: "Seconds to wait for each phase.") var timeout: Double = 120

  func run() async throws {
    raiseFileLimit()
    var seen = Set<String>()
    let unique = try NodeIdentity.load(nodes).filter { seen.insert($0.id).inserted }
    let run = FleetRun(server: try HostPort(server), nodes: unique, count: unique.count, delta: delta, record: true)
    var notes: [String] = []
    try await run.withClients { _ in
      let settled = await run.settle(quietMs: settleMs, timeout: timeout)
      notes.append("phase 0: \(run.fleet.ready.load(ordering: .relaxed))/\(unique.count) ready, settled=\(settled)")
      if let catalog, let change {
        let mutation = try CatalogMutation.prepare(path: catalog, scope: change)
        run.fleet.mark.store(monotonicNanos(), ordering: .sequentiallyConsistent)
        try mutation.apply()
        let expected = unique.indices.filter { mutation.affected.contains(unique[$0].id) }
        let observed = await run.wait(timeout: timeout) {
          expected.allSatisfy { run.fleet.probes[$0].stats.withLock { $0.afterMark.first != 0 } }
        }
        _ = await run.wait(timeout: timeout) { run.isQuiet(settleMs) }
        notes.append("phase 1 (\(mutation.summary)): \(expected.count) expected, all observed=\(observed)")
      }
    }
    var byNode: [String: [Recording.Response]] = [:]
    var total = 0
    var bytes = 0
    for (index, node) in unique.enumerated() {
      let entries = run.sink!.lists[index].entries.withLock { $0 }
      byNode[node.id] = entries.map { Recording.Response(phase: $0.phase, type: $0.type, bytes: $0.bytes) }
      total += entries.count
      bytes += entries.reduce(0) { $0 + $1.bytes.count }
    }
    let recording = Recording(delta: delta, nodes: byNode)
    try writeAtomically(recording.encoded(), to: out)
    for note in notes { printError("record: " + note) }
    print("record nodes=\(unique.count) responses=\(total) bytes=\(bytes) -> \(out)")
    if run.fleet.ready.load(ordering: .relaxed) < unique.count { throw ExitCode(2) }
  }
}
