import Foundation
#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif
import TestSupport

/// The example mesh on 127.0.0.1, for real: the Lambda stand-in, `lambda-xds serve` on a copy of
/// envoy-configs/catalog.json (ports made free), an Envoy sidecar for `api` holding credentials A
/// and an Envoy terminating gateway holding credentials B.
final class MeshDeployment: @unchecked Sendable {
  static let sidecarKey = "AKIDSIDECAREXAMPLE"
  static let gatewayKey = "AKIDGATEWAYEXAMPLE"
  static let secrets = [sidecarKey: "sidecar/K7MDENG+bPxRfiCYEXAMPLEKEY", gatewayKey: "gateway/K7MDENG+bPxRfiCYEXAMPLEKEY"]

  let catalogFile: URL
  /// Where `serve` keeps its dev CA (`--data-dir`).
  var dataDirectory: URL { catalogFile.deletingLastPathComponent().appendingPathComponent("data") }
  /// In Consul mode, the simulator the catalog was loaded into (the file is then only the source).
  let consul: ConsulSimulator?
  let ports: [String: Int]
  let standIn: LambdaStandIn
  let server: LambdaXDSProcess
  let sidecar: EnvoyProcess
  let gateway: EnvoyProcess

  /// - Parameters:
  ///   - sidecarDelta: run the sidecar's ADS stream in delta mode.
  ///   - consulMode: load the catalog into the Consul simulator and point the server at it.
  static func start(sidecarDelta: Bool = false, consulMode: Bool = false) async throws -> MeshDeployment {
    let directory = testRunDirectory.appendingPathComponent("mesh-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let catalogFile = directory.appendingPathComponent("catalog.json")
    let ports = ["authentication": freePort(), "payments": freePort(), "gateway": freePort()]
    try rewrite(EnvoyProcess.projectRoot.appendingPathComponent("envoy-configs/catalog.json"), to: catalogFile) { document in
      document.registrations = document.registrations.map { registration in
        var registration = registration
        var service = registration["Service"] as! [String: Any]
        if service["Kind"] as? String == "terminating-gateway" { service["Port"] = ports["gateway"] }
        if var proxy = service["Proxy"] as? [String: Any] {
          proxy["Upstreams"] = (proxy["Upstreams"] as! [[String: Any]]).map { upstream in
            var upstream = upstream
            upstream["LocalBindPort"] = ports[upstream["DestinationName"] as! String]
            return upstream
          }
          service["Proxy"] = proxy
        }
        registration["Service"] = service
        return registration
      }
    }
    let standIn = try LambdaStandIn.start(credentials: secrets)
    var consul: ConsulSimulator?
    var source = ["--catalog-file", catalogFile.path, "--data-dir", directory.appendingPathComponent("data").path]
    if consulMode {
      consul = try await ConsulSimulator.start()
      try await consul!.load(catalogFile: catalogFile.path)
      source = ["--consul-address", consul!.address]
    }
    let server = try await LambdaXDSProcess.serve(source + ["--lambda-endpoint", standIn.url])
    func credentials(_ key: String) -> [String: String] {
      ["AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secrets[key]!]
    }
    let sidecar = try await EnvoyProcess.start(
      name: "sidecar", bootstrapJSON: try server.bootstrap(nodeID: "api-sidecar-proxy", extra: sidecarDelta ? ["--delta"] : []),
      environment: credentials(sidecarKey))
    let gateway = try await EnvoyProcess.start(
      name: "gateway", bootstrapJSON: try server.bootstrap(nodeID: "terminating-gateway"), environment: credentials(gatewayKey))
    return MeshDeployment(
      catalogFile: catalogFile, consul: consul, ports: ports, standIn: standIn, server: server, sidecar: sidecar,
      gateway: gateway)
  }

  private init(
    catalogFile: URL, consul: ConsulSimulator?, ports: [String: Int], standIn: LambdaStandIn, server: LambdaXDSProcess,
    sidecar: EnvoyProcess, gateway: EnvoyProcess
  ) {
    self.catalogFile = catalogFile
    self.consul = consul
    self.ports = ports
    self.standIn = standIn
    self.server = server
    self.sidecar = sidecar
    self.gateway = gateway
  }

  func stop() {
    sidecar.stop()
    gateway.stop()
    server.stop()
    standIn.stop()
    consul?.stop()
  }

  /// What the application does: a request to an upstream's local bind port.
  func call(_ upstream: String, path: String = "/", body: String = #"{"hello":"world"}"#) async throws
    -> (status: Int, headers: [String: String], body: String)
  {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(ports[upstream]!)\(path)")!)
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "content-type")
    // A new connection each time: a listener update applies to new connections at once, while
    // old ones drain (see ARCHITECTURE.md).
    request.setValue("close", forHTTPHeaderField: "connection")
    request.httpBody = Data(body.utf8)
    return try await HTTP.exchange(request)
  }

  /// Who signed the function's answer (the stand-in reports it in every answer).
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

    /// Changes the config entry of a kind and name.
    mutating func entry(_ kind: String, _ name: String, _ change: (inout [String: Any]) -> Void) {
      configEntries = configEntries.map { entry in
        guard entry["Kind"] as? String == kind, entry["Name"] as? String == name else { return entry }
        var entry = entry
        change(&entry)
        return entry
      }
    }
  }

  private static func rewrite(_ source: URL, to destination: URL, _ change: (inout CatalogDocument) -> Void) throws {
    var document = CatalogDocument(raw: try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as! [String: Any])
    change(&document)
    try JSONSerialization.data(withJSONObject: document.raw, options: [.prettyPrinted, .sortedKeys]).write(to: destination, options: .atomic)
  }
}
