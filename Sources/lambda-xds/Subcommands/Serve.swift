import ADSServer
import ArgumentParser
import ControlPlane
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run the xDS server until SIGINT or SIGTERM.",
    discussion: """
      Envoy sidecars and terminating gateways connect over ADS (state of the world or delta);
      each is served the snapshot for its node id.

      Examples:
        lambda-xds serve --catalog-file envoy-configs/catalog.json
        lambda-xds serve --catalog-file envoy-configs/catalog.json --lambda-endpoint http://127.0.0.1:9001
        CONSUL_HTTP_ADDR=https://consul:8501 CONSUL_HTTP_TOKEN_FILE=/run/token lambda-xds serve
        lambda-xds serve --xds-address 0.0.0.0:18000 --log-level debug
        lambda-xds serve --xds-tls-cert xds.pem --xds-tls-key xds-key.pem --xds-tls-client-ca mesh-ca.pem
      """)

  @Option(help: "Where Envoy connects (HOST:PORT).")
  var xdsAddress = HostPort(argument: "127.0.0.1:18000")!

  @Option(help: "Admin API (HOST:PORT): /v1/proxies, /v1/proxies/<node>/{config_dump,status,findings}, /v1/pipeline.")
  var adminAddress = HostPort(argument: "127.0.0.1:19100")!

  @Option(help: "Serve xDS over TLS with this certificate (PEM); needs --xds-tls-key.")
  var xdsTLSCert: String?

  @Option(help: "The private key (PEM) for --xds-tls-cert.")
  var xdsTLSKey: String?

  @Option(
    name: .customLong("xds-tls-client-ca"),
    help: "Require proxies to present a client certificate signed by this CA (PEM) whose SPIFFE service is the proxy's.")
  var xdsTLSClientCA: String?

  @Flag(help: "Consul mode: require each xDS stream's x-consul-token to grant service:write on its proxy's service.")
  var xdsACL = false

  @Option(help: "Catalog-file mode: require x-consul-token on xDS streams, checked against this JSON file of token -> services.")
  var xdsTokenFile: String?

  @Option(help: "Seconds between re-checks of an open stream's token.")
  var xdsTokenRecheck: Double = 60

  @Option(help: "Largest xDS request accepted, in bytes (Envoy's first delta request lists every resource it holds).")
  var xdsMaxRequestBytes = 64 * 1024 * 1024

  @Option(help: "Length of the xDS listener's accept queue (capped by net.core.somaxconn).")
  var xdsBacklog = XDSServer.defaultBacklog

  @Option(help: "Milliseconds a burst of catalog changes may gather before it is translated (0: at once; the newest catalog always wins).")
  var debounce = 0

  @Option(help: "Seconds a proxy's first configuration waits for the mesh certificates it needs; then it is served what is ready.")
  var certificateWait: Double = 10

  @OptionGroup var source: CatalogSourceOptions
  @OptionGroup var certificates: CertificateOptions
  @OptionGroup var translation: TranslationFlags
  @OptionGroup var logging: LoggingOptions

  func validate() throws {
    if (xdsTLSCert == nil) != (xdsTLSKey == nil) { throw ValidationError("--xds-tls-cert and --xds-tls-key go together") }
    if xdsACL && source.catalogFile != nil { throw ValidationError("--xds-acl checks tokens with Consul; with --catalog-file use --xds-token-file") }
    if xdsTokenFile != nil && source.catalogFile == nil { throw ValidationError("--xds-token-file is for catalog-file mode; with Consul use --xds-acl") }
    if xdsTLSClientCA != nil && xdsTLSCert == nil { throw ValidationError("--xds-tls-client-ca needs --xds-tls-cert and --xds-tls-key") }
    if xdsBacklog < 1 { throw ValidationError("--xds-backlog must be at least 1") }
    if debounce < 0 || debounce > 60_000 { throw ValidationError("--debounce is 0 to 60000 milliseconds") }
  }

  func run() async throws {
    var configuration = ServeConfiguration(source: try source.source())
    (configuration.xdsHost, configuration.xdsPort) = (xdsAddress.host, xdsAddress.port)
    (configuration.adminHost, configuration.adminPort) = (adminAddress.host, adminAddress.port)
    if let xdsTLSCert, let xdsTLSKey {
      configuration.xdsTLS = XDSServerTLS(certificatePath: xdsTLSCert, keyPath: xdsTLSKey, clientCAPath: xdsTLSClientCA)
    }
    if xdsACL { configuration.authorization = .consulACL }
    if let xdsTokenFile { configuration.authorization = .tokenFile(xdsTokenFile) }
    configuration.tokenRecheck = .seconds(xdsTokenRecheck)
    configuration.maxRequestBytes = xdsMaxRequestBytes
    configuration.backlog = xdsBacklog
    configuration.certificateWait = certificateWait
    configuration.debounce = .milliseconds(debounce)
    configuration.translation = try translation.options()
    configuration.dataDirectory = certificates.dataDirectory
    configuration.leafLifetime = certificates.leafLifetime
    let logger = logging.makeLogger()
    let server = ControlPlaneServer(configuration: configuration, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.run() }
      group.addTask {
        let signal = await Signals.shutdown()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
      }
      _ = try await group.next()
      group.cancelAll()
    }
  }
}
