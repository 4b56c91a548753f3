import ADSServer
import ArgumentParser
import ConsulCatalog
import ConsulWatch
import Dispatch
import Foundation
import Logging
import ResourceCache
import Translation

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

  @Option(help: "Admin API (HOST:PORT): /v1/proxies, /v1/proxies/<node>/{config_dump,status,findings}.")
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
  }

  func run() async throws {
    let logger = logging.makeLogger()
    let cache = SnapshotCache()
    var makeAuthority: ConfigurationPipeline.AuthorityFactory?
    if source.catalogFile != nil {
      makeAuthority = { [certificates] trustDomain in try certificates.authority(trustDomain: trustDomain, logger: logger) }
    }
    let pipeline = ConfigurationPipeline(
      translator: Translator(options: try translation.options()), cache: cache, makeAuthority: makeAuthority,
      leafLifetime: certificates.leafLifetime, leafStore: certificates.dataDir.map { URL(fileURLWithPath: $0) },
      certificateWait: certificateWait, logger: logger)
    let status = XDSStatusBoard()
    var authorization: StreamAuthorization?
    var aclClient: ConsulClient?
    if xdsACL {
      let config = try source.consulConfig()
      let client = ConsulClient(config: config, http: try ConsulClient.makeHTTPClient(config))
      aclClient = client
      authorization = StreamAuthorization(
        authorizer: ConsulTokenAuthorizer(client: client, pipeline: pipeline), recheckInterval: .seconds(xdsTokenRecheck))
    } else if let xdsTokenFile {
      authorization = StreamAuthorization(
        authorizer: FileTokenAuthorizer(path: xdsTokenFile, pipeline: pipeline), recheckInterval: .seconds(xdsTokenRecheck))
    }
    if xdsTLSClientCA != nil {
      authorization = StreamAuthorization(
        authorizer: CertificateBindingAuthorizer(pipeline: pipeline, next: authorization?.authorizer),
        recheckInterval: .seconds(xdsTokenRecheck))
    }
    var server = XDSServer(
      host: xdsAddress.host, port: xdsAddress.port,
      service: AggregatedDiscoveryService(cache: cache, status: status, logger: logger, authorization: authorization),
      maxRequestBytes: xdsMaxRequestBytes)
    if let xdsTLSCert, let xdsTLSKey {
      server.tls = XDSServerTLS(certificatePath: xdsTLSCert, keyPath: xdsTLSKey, clientCAPath: xdsTLSClientCA)
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { [server] in
        try await server.run { port in
          logger.info("xDS server listening", metadata: ["address": "\(xdsAddress.host):\(port)"])
        }
      }
      let feed = CatalogFeed()
      group.addTask { try await source.run(into: feed, certificates: { pipeline.update($0) }, logger: logger) }
      group.addTask { await pipeline.run(feed) }
      let admin = AdminServer(
        host: adminAddress.host, port: adminAddress.port,
        routes: AdminRoutes(cache: cache, status: status, pipeline: pipeline))
      group.addTask {
        try await admin.run { port in
          logger.info("admin API listening", metadata: ["address": "\(adminAddress.host):\(port)"])
        }
      }
      group.addTask { await MemoryTrim.run(watching: cache, logger: logger) }
      group.addTask {
        let signal = await Signals.shutdown()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
      }
      _ = try await group.next()
      group.cancelAll()
    }
    try await aclClient?.shutdown()
  }
}
