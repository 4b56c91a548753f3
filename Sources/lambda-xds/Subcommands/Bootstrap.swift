import ADSProtocol
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
        lambda-xds bootstrap --node-id api-sidecar-proxy --xds-address 10.0.0.1:18000 --xds-address 10.0.0.2:18000
        lambda-xds bootstrap --node-id api-sidecar-proxy --xds-tls-ca ca.pem --xds-tls-server-name xds.example \\
          --xds-tls-cert envoy.pem --xds-tls-key envoy-key.pem
      """)

  @Option(help: "Envoy's node id: the Consul service id of the proxy.")
  var nodeID: String

  @Option(help: "Envoy's node cluster (default: the node id without '-sidecar-proxy').")
  var nodeCluster: String?

  @Option(help: "A lambda-xds server (HOST:PORT); repeat it for each replica (Envoy fails over), or give one DNS name that resolves to all.")
  var xdsAddress: [HostPort] = [HostPort(argument: "127.0.0.1:18000")!]

  @Option(help: "Envoy's admin listener (HOST:PORT).")
  var adminAddress = HostPort(argument: "127.0.0.1:19000")!

  @Flag(help: "Use incremental (delta) ADS instead of state of the world.")
  var delta = false

  @Option(name: .customLong("xds-tls-ca"), help: "Connect to the xDS server over TLS, trusting this CA (PEM).")
  var xdsTLSCA: String?

  @Option(help: "The name the xDS server's certificate carries (SNI and SAN check).")
  var xdsTLSServerName: String?

  @Option(help: "Envoy's client certificate (PEM) for mutual TLS to the xDS server.")
  var xdsTLSCert: String?

  @Option(help: "The private key (PEM) for --xds-tls-cert.")
  var xdsTLSKey: String?

  @Option(help: "ACL token Envoy sends as x-consul-token on its xDS stream.")
  var token: String?

  @Option(help: "Read the ACL token from this file.")
  var tokenFile: String?

  @Option(help: "json or yaml.")
  var format: OutputFormat = .json

  @Option(help: "Write to this file instead of standard output.")
  var output: String?

  func validate() throws {
    if (xdsTLSCert == nil) != (xdsTLSKey == nil) { throw ValidationError("--xds-tls-cert and --xds-tls-key go together") }
    if xdsTLSCA == nil && (xdsTLSCert != nil || xdsTLSServerName != nil) {
      throw ValidationError("TLS to the xDS server needs --xds-tls-ca")
    }
  }

  func run() throws {
    var bootstrap = EnvoyBootstrap(
      nodeID: nodeID,
      nodeCluster: nodeCluster ?? nodeID.replacingOccurrences(of: "-sidecar-proxy", with: ""),
      xdsAddresses: xdsAddress.map { EnvoyBootstrap.Address(host: $0.host, port: $0.port) })
    bootstrap.adminHost = adminAddress.host
    bootstrap.adminPort = adminAddress.port
    bootstrap.variant = delta ? .delta : .stateOfTheWorld
    if let tokenFile {
      bootstrap.token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    } else {
      bootstrap.token = token
    }
    if let xdsTLSCA {
      bootstrap.tls = .init(caPath: xdsTLSCA, serverName: xdsTLSServerName, certificatePath: xdsTLSCert, keyPath: xdsTLSKey)
    }
    let text = format == .json ? try bootstrap.json() + "\n" : try format.render(try EnvoyJSON.canonical(try bootstrap.message()))
    if let output {
      try text.write(toFile: output, atomically: true, encoding: .utf8)
    } else {
      print(text, terminator: "")
    }
  }
}
