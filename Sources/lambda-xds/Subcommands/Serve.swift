import ADSServer
import ArgumentParser
import ControlPlane
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

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

  @Option(help: "Where Envoy connects (HOST:PORT; IPv6 in brackets: [::]:18000).")
  var xdsAddress = HostPort(argument: "127.0.0.1:18000")!

  @Option(help: "Admin API (HOST:PORT): /healthz, /readyz, /metrics, /v1/proxies, /v1/proxies/<node>/{config_dump,status,findings}, /v1/pipeline.")
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

  @Option(help: "Seconds open xDS streams get to end after SIGTERM or SIGINT (no new streams are accepted meanwhile); then the server exits.")
  var drainSeconds: Double = 5

  @Option(help: "Seconds Consul may be unreachable before /readyz answers 503 (0: ready through any outage; proxies keep their configuration either way).")
  var readyMaxStaleness: Double = 300

  @Option(help: "Most xDS streams open at once; more are refused with RESOURCE_EXHAUSTED (0: no limit).")
  var maxStreams = 0

  @Option(help: "Most open xDS streams per node id; more are refused with RESOURCE_EXHAUSTED (0: no limit).")
  var maxStreamsPerNode = 0

  @Option(help: "Most new xDS streams per second (a burst of one second's worth); more are refused with RESOURCE_EXHAUSTED (0: no limit).")
  var maxNewStreamsPerSecond: Double = 0

  @Option(help: "Seconds a stream whose node id is not a proxy of the catalog is kept (a proxy registering meanwhile is served); then it ends with NOT_FOUND.")
  var unknownNodeGrace: Double = 10

  @Option(help: "Seconds after a proxy's last stream ended before the admin API forgets its status.")
  var forgetAfter: Double = 600

  @Flag(help: "Consul mode: register this replica with the local agent as service lambda-xds (health check on /readyz); deregistered on shutdown.")
  var registerInConsul = false

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
    if drainSeconds < 0 || drainSeconds > 3600 { throw ValidationError("--drain-seconds is 0 to 3600") }
    if readyMaxStaleness < 0 { throw ValidationError("--ready-max-staleness cannot be negative") }
    if maxStreams < 0 || maxStreamsPerNode < 0 || maxNewStreamsPerSecond < 0 {
      throw ValidationError("--max-streams, --max-streams-per-node and --max-new-streams-per-second cannot be negative")
    }
    if registerInConsul && source.catalogFile != nil { throw ValidationError("--register-in-consul needs Consul, not --catalog-file") }
    if unknownNodeGrace < 0 || forgetAfter < 0 { throw ValidationError("--unknown-node-grace and --forget-after cannot be negative") }
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
    configuration.drainTime = .milliseconds(Int64(drainSeconds * 1000))
    configuration.limits.maxStreams = maxStreams > 0 ? maxStreams : nil
    configuration.limits.maxStreamsPerNode = maxStreamsPerNode > 0 ? maxStreamsPerNode : nil
    configuration.limits.maxNewStreamsPerSecond = maxNewStreamsPerSecond > 0 ? maxNewStreamsPerSecond : nil
    configuration.limits.unknownNodeGrace = .milliseconds(Int64(unknownNodeGrace * 1000))
    configuration.forgetAfter = .milliseconds(Int64(forgetAfter * 1000))
    configuration.registerInConsul = registerInConsul
    configuration.readyMaxStaleness = readyMaxStaleness > 0 ? .milliseconds(Int64(readyMaxStaleness * 1000)) : nil
    let logger = logging.makeLogger()
    let group = ServiceGroupConfiguration(
      services: [.init(service: ControlPlaneServer(configuration: configuration, logger: logger), serviceName: "serve")],
      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await ServiceGroup(configuration: group).run()
    logger.info("stopped")
  }
}
