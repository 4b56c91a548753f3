import ArgumentParser

/// Benchmarks for lambda-xds: a generated mesh, simulated Envoys, and a bare replay server that
/// answers the same clients with recorded bytes, so every figure can be read as ours / bare.
@main
struct LoadgenCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lambda-xds-loadgen",
    abstract: "Load generator and bare ADS baseline for lambda-xds benchmarks.",
    discussion: """
      Typical run (scripts/bench.sh does all of it):
        lambda-xds-loadgen catalog --services 100 --lambdas 100 --sidecars 100 --upstreams 5 \\
          --out catalog.json --nodes-out nodes.txt
        lambda-xds serve --catalog-file catalog.json --xds-address 127.0.0.1:18000
        lambda-xds-loadgen run --server 127.0.0.1:18000 --nodes nodes.txt --scenario storm
        lambda-xds-loadgen record --server 127.0.0.1:18000 --nodes nodes.txt --out a.rec
        lambda-xds-loadgen bare --listen 127.0.0.1:18001 --recording a.rec
      """,
    subcommands: [CatalogCommand.self, RunCommand.self, RecordCommand.self, BareCommand.self])
}
