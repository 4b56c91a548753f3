import Foundation
#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif
import TestSupport

/// The example mesh on 127.0.0.1, for real: the Lambda stand-in, the local applications of web,
/// api and db, `lambda-xds serve` on a copy of envoy-configs/catalog.json (every port made free),
/// an Envoy sidecar for `api` holding credentials A, an Envoy terminating gateway holding
/// credentials B, and on request Envoy sidecars for `web` and `db`.
final class MeshDeployment: @unchecked Sendable {
  static let sidecarKey = "AKIDSIDECAREXAMPLE"
  static let gatewayKey = "AKIDGATEWAYEXAMPLE"
  /// The api sidecar's credentials file holds this key under profile `billing` (and A under `default`).
  static let profileKey = "AKIDPROFILEEXAMPLE"
  static let secrets = [
    sidecarKey: "sidecar/K7MDENG+bPxRfiCYEXAMPLEKEY", gatewayKey: "gateway/K7MDENG+bPxRfiCYEXAMPLEKEY",
    profileKey: "profile/K7MDENG+bPxRfiCYEXAMPLEKEY",
  ]
  static let trustDomain = "11111111-2222-3333-4444-555555555555.consul"

  let catalogFile: URL
  /// Where `serve` keeps its dev CA (`--data-dir`).
  var dataDirectory: URL { catalogFile.deletingLastPathComponent().appendingPathComponent("data") }
  /// In Consul mode, the simulator the catalog was loaded into (the file is then only the source).
  let consul: ConsulSimulator?
  /// Each upstream's local bind port by upstream name, `gateway` for the gateway's port and
  /// `<node id>` for each sidecar's public listener port.
  let ports: [String: Int]
  let apps: [String: MeshApp]
  let standIn: LambdaStandIn
  let server: LambdaXDSProcess
  /// With `replicas: 2`: a second `serve` on the same source; every Envoy is given both.
  let replica: LambdaXDSProcess?
  let sidecar: EnvoyProcess
  let gateway: EnvoyProcess
  /// With `meshSidecars`: the Envoys of web and db.
  let web: EnvoyProcess?
  let db: EnvoyProcess?

  /// - Parameters:
  ///   - sidecarDelta: run the api sidecar's ADS stream in delta mode.
  ///   - consulMode: load the catalog into the Consul simulator and point the server at it.
  ///   - meshSidecars: also start the sidecars of web and db.
  ///   - serveArguments: more `lambda-xds serve` flags.
  ///   - consulFaults: faults the Consul simulator injects from the start (`/_sim/faults` JSON).
  ///   - replicas: 1, or 2 for a second `serve` every Envoy can fail over to.
  ///   - prepare: changes to the example catalog before ports are given out (new upstreams get one).
  static func start(
    sidecarDelta: Bool = false, consulMode: Bool = false, meshSidecars: Bool = false, serveArguments: [String] = [],
    consulFaults: String? = nil, replicas: Int = 1, prepare: (inout CatalogDocument) -> Void = { _ in }
  ) async throws -> MeshDeployment {
    let directory = testRunDirectory.appendingPathComponent("mesh-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let catalogFile = directory.appendingPathComponent("catalog.json")
    var apps: [String: MeshApp] = [:]
    for name in ["api", "web", "db"] { apps[name] = try MeshApp.start(name: name) }
    var ports: [String: Int] = [:]
    try rewrite(EnvoyProcess.projectRoot.appendingPathComponent("envoy-configs/catalog.json"), to: catalogFile) { document in
      prepare(&document)
      document.registrations = document.registrations.map { registration in
        var registration = registration
        var service = registration["Service"] as! [String: Any]
        let id = service["ID"] as! String
        if let app = apps[id] { service["Port"] = app.port }
        if service["Kind"] as? String == "terminating-gateway" {
          ports["gateway"] = freePort()
          service["Port"] = ports["gateway"]
        }
        if var proxy = service["Proxy"] as? [String: Any] {
          ports[id] = freePort()
          service["Port"] = ports[id]
          proxy["LocalServicePort"] = apps[proxy["DestinationServiceName"] as! String]?.port
          proxy["Upstreams"] = (proxy["Upstreams"] as? [[String: Any]] ?? []).map { upstream in
            var upstream = upstream
            let name = upstream["DestinationName"] as! String
            ports[name] = freePort()
            upstream["LocalBindPort"] = ports[name]
            return upstream
          }
          service["Proxy"] = proxy
        }
        registration["Service"] = service
        return registration
      }
    }
    let credentialsFile = directory.appendingPathComponent("aws-credentials")
    try """
      [default]
      aws_access_key_id = \(sidecarKey)
      aws_secret_access_key = \(secrets[sidecarKey]!)

      [billing]
      aws_access_key_id = \(profileKey)
      aws_secret_access_key = \(secrets[profileKey]!)

      """.write(to: credentialsFile, atomically: true, encoding: .utf8)
    let standIn = try LambdaStandIn.start(credentials: secrets)
    var consul: ConsulSimulator?
    var source = ["--catalog-file", catalogFile.path, "--data-dir", directory.appendingPathComponent("data").path]
    if consulMode {
      consul = try await ConsulSimulator.start()
      try await consul!.load(catalogFile: catalogFile.path)
      if let consulFaults { try await consul!.put("/_sim/faults", json: consulFaults) }
      source = ["--consul-address", consul!.address]
    }
    let server = try await LambdaXDSProcess.serve(source + ["--lambda-endpoint", standIn.url] + serveArguments)
    let replica = replicas > 1 ? try await server.replica() : nil
    func envoy(_ name: String, _ node: String, key: String? = nil) async throws -> EnvoyProcess {
      let credentials = key.map {
        ["AWS_ACCESS_KEY_ID": $0, "AWS_SECRET_ACCESS_KEY": secrets[$0]!, "AWS_SHARED_CREDENTIALS_FILE": credentialsFile.path]
      } ?? [:]
      var extra = sidecarDelta && node == "api-sidecar-proxy" ? ["--delta"] : []
      if let replica { extra += ["--xds-address", address(replica.xdsHost, replica.xdsPort)] }
      return try await EnvoyProcess.start(
        name: name, bootstrapJSON: try server.bootstrap(nodeID: node, extra: extra), environment: credentials)
    }
    return MeshDeployment(
      catalogFile: catalogFile, consul: consul, ports: ports, apps: apps, standIn: standIn, server: server,
      replica: replica, sidecar: try await envoy("sidecar", "api-sidecar-proxy", key: sidecarKey),
      gateway: try await envoy("gateway", "terminating-gateway", key: gatewayKey),
      web: meshSidecars ? try await envoy("web", "web-sidecar-proxy") : nil,
      db: meshSidecars ? try await envoy("db", "db-sidecar-proxy") : nil)
  }

  private init(
    catalogFile: URL, consul: ConsulSimulator?, ports: [String: Int], apps: [String: MeshApp], standIn: LambdaStandIn,
    server: LambdaXDSProcess, replica: LambdaXDSProcess?, sidecar: EnvoyProcess, gateway: EnvoyProcess,
    web: EnvoyProcess?, db: EnvoyProcess?
  ) {
    self.replica = replica
    self.catalogFile = catalogFile
    self.consul = consul
    self.ports = ports
    self.apps = apps
    self.standIn = standIn
    self.server = server
    self.sidecar = sidecar
    self.gateway = gateway
    self.web = web
    self.db = db
  }

  func stop() {
    for envoy in [sidecar, gateway, web, db] { envoy?.stop() }
    server.stop()
    replica?.stop()
    standIn.stop()
    for app in apps.values { app.stop() }
    consul?.stop()
  }

  /// What the application does: a request to an upstream's local bind port.
  func call(
    _ upstream: String, path: String = "/", body: String = #"{"hello":"world"}"#, method: String = "POST",
    headers: [String: String] = [:], timeout: TimeInterval = 5
  ) async throws -> (status: Int, headers: [String: String], body: String) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(ports[upstream]!)\(path)")!)
    request.httpMethod = method
    request.setValue("application/json", forHTTPHeaderField: "content-type")
    // A new connection each time: a listener update applies to new connections at once, while
    // old ones drain (see ARCHITECTURE.md).
    request.setValue("close", forHTTPHeaderField: "connection")
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if method != "GET" { request.httpBody = Data(body.utf8) }
    return try await HTTP.exchange(request, timeout: timeout)
  }

  /// A request through an upstream to a mesh service's application: its answer, or nil when the
  /// mesh refused (any status but 200, or the connection closed).
  func meshCall(_ upstream: String, path: String = "/") async -> (status: Int, answer: MeshApp.Answer?) {
    guard let response = try? await call(upstream, path: path, method: "GET") else { return (-1, nil) }
    return (response.status, try? JSONDecoder().decode(MeshApp.Answer.self, from: Data(response.body.utf8)))
  }

  /// Who signed the function's answer (the stand-in reports it in every answer).
  /// Waits (30 s at most) until the direct path (authentication) and the gated one (payments) answer.
  func bothLambdaPathsAnswer() async throws {
    try await eventually("both Lambda paths answer", timeout: 30) {
      let direct = try await call("authentication").status
      let gated = try await call("payments").status
      return direct == 200 && gated == 201
    }
  }

  func signer(of upstream: String) async throws -> String? {
    let (status, _, body) = try await call(upstream)
    guard status == 200 || status == 201 else { return nil }
    let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    return answer?["signed_by"] as? String
  }

  /// Edits the catalog file the server watches.
  func editCatalog(_ change: (inout CatalogDocument) -> Void) throws {
    try Self.rewrite(catalogFile, to: catalogFile, change)
  }

  struct CatalogDocument {
    var raw: [String: Any]
    var registrations: [[String: Any]] {
      get { raw["registrations"] as! [[String: Any]] }
      set { raw["registrations"] = newValue }
    }
    var configEntries: [[String: Any]] {
      get { raw["config_entries"] as! [[String: Any]] }
      set { raw["config_entries"] = newValue }
    }

    /// Changes the config entry of a kind and name, made empty first when there is none.
    mutating func entry(_ kind: String, _ name: String, _ change: (inout [String: Any]) -> Void) {
      let index = configEntries.firstIndex { $0["Kind"] as? String == kind && $0["Name"] as? String == name }
      var entry = index.map { configEntries[$0] } ?? ["Kind": kind, "Name": name]
      change(&entry)
      if let index { configEntries[index] = entry } else { configEntries.append(entry) }
    }

    /// Changes the registration of a service id.
    mutating func registration(_ id: String, _ change: (inout [String: Any]) -> Void) {
      registrations = registrations.map { registration in
        guard (registration["Service"] as? [String: Any])?["ID"] as? String == id else { return registration }
        var registration = registration
        change(&registration)
        return registration
      }
    }
  }

  private static func rewrite(_ source: URL, to destination: URL, _ change: (inout CatalogDocument) -> Void) throws {
    var document = CatalogDocument(raw: try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as! [String: Any])
    change(&document)
    try JSONSerialization.data(withJSONObject: document.raw, options: [.prettyPrinted, .sortedKeys]).write(to: destination, options: .atomic)
  }
}
