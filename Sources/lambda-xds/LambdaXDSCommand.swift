import ArgumentParser
import ControlPlane

@main
struct LambdaXDSCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lambda-xds",
    abstract: "An Envoy xDS control plane that lets Consul service mesh services invoke AWS Lambda.",
    discussion: """
      Examples:
        lambda-xds serve --xds-address 127.0.0.1:18000
        lambda-xds bootstrap --node-id api-sidecar-proxy --xds-address 127.0.0.1:18000
      """,
    version: "lambda-xds \(LambdaXDSVersion.current), Envoy API: \(LambdaXDSVersion.envoyAPI)",
    subcommands: [Serve.self, Dump.self, Check.self, Bootstrap.self]
  )
}
