import ADSServer
import ArgumentParser
import Foundation
import ResourceCache

struct Bootstrap: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Print the Envoy bootstrap that points a sidecar or gateway at lambda-xds.",
    discussion: """
      Like `consul connect envoy -bootstrap`: the node id is the Consul service id of the proxy
      registration; clusters and listeners then come from lambda-xds over ADS.

      Examples:
        lambda-xds bootstrap --node-id api-sidecar-proxy --xds-address 127.0.0.1:18000
        lambda-xds bootstrap --node-id terminating-gateway --delta --output gateway.json
        lambda-xds bootstrap --node-id api-sidecar-proxy --format yaml
      """)

  @Option(help: "Envoy's node id: the Consul service id of the proxy.")
  var nodeID: String

  @Option(help: "Envoy's node cluster (default: the node id without '-sidecar-proxy').")
  var nodeCluster: String?

  @Option(help: "The lambda-xds server (HOST:PORT).")
  var xdsAddress = HostPort(argument: "127.0.0.1:18000")!

  @Option(help: "Envoy's admin listener (HOST:PORT).")
  var adminAddress = HostPort(argument: "127.0.0.1:19000")!

  @Flag(help: "Use incremental (delta) ADS instead of state of the world.")
  var delta = false

  @Option(help: "json or yaml.")
  var format: OutputFormat = .json

  @Option(help: "Write to this file instead of standard output.")
  var output: String?

  func run() throws {
    var bootstrap = EnvoyBootstrap(
      nodeID: nodeID,
      nodeCluster: nodeCluster ?? nodeID.replacingOccurrences(of: "-sidecar-proxy", with: ""),
      xdsHost: xdsAddress.host, xdsPort: xdsAddress.port)
    bootstrap.adminHost = adminAddress.host
    bootstrap.adminPort = adminAddress.port
    bootstrap.variant = delta ? .delta : .stateOfTheWorld
    let text = format == .json ? try bootstrap.json() + "\n" : try format.render(try EnvoyJSON.canonical(try bootstrap.message()))
    if let output {
      try text.write(toFile: output, atomically: true, encoding: .utf8)
    } else {
      print(text, terminator: "")
    }
  }
}
