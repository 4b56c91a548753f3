public import ConsulWatch
import Foundation
import Logging
import ServiceLifecycle

/// `--register-in-consul`: the replica registers itself with the local Consul agent as a service
/// (its xDS address, a health check on its `/readyz`), so operators and DNS find the healthy
/// replicas; it deregisters first thing on graceful shutdown, before the drain.
public struct ConsulRegistration: Sendable {
  /// The service name replicas register under.
  public static let serviceName = "lambda-xds"
  public var name = serviceName
  /// The address Envoy should use (the xDS listener's, unless it listens on every address).
  public var address: String
  public var port: Int
  /// Where Consul's agent reaches `/readyz`.
  public var readyURL: String

  public init(address: String, port: Int, readyURL: String) {
    self.address = address
    self.port = port
    self.readyURL = readyURL
  }

  /// Unique per replica: one host may run several.
  public var id: String { "\(name)-\(address)-\(port)" }

  /// The agent's service definition.
  func definition() throws -> Data {
    var body: [String: Any] = [
      "ID": id, "Name": name, "Port": port,
      "Meta": ["version": LambdaXDSVersion.current],
      "Check": [
        "Name": "lambda-xds /readyz", "HTTP": readyURL, "Method": "GET", "Interval": "5s", "Timeout": "2s",
        "DeregisterCriticalServiceAfter": "10m",
      ],
    ]
    // A wildcard listener: Consul then uses the agent's node address.
    if address != "0.0.0.0" && address != "::" { body["Address"] = address }
    return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
  }

  /// Registers (retrying every 5 s while the agent cannot be reached), waits for graceful
  /// shutdown, deregisters.
  func run(client: ConsulClient, logger: Logger) async throws {
    let definition = try definition()
    while !Task.isCancelled {
      do {
        try await client.put("/v1/agent/service/register", json: definition)
        logger.info("registered in Consul", metadata: ["service": "\(name)", "id": "\(id)"])
        break
      } catch {
        logger.warning("cannot register in Consul; retrying", metadata: ["error": "\(error)"])
        try? await Task.sleep(for: .seconds(5))
      }
    }
    try? await gracefulShutdown()
    do {
      try await client.put("/v1/agent/service/deregister/\(id)")
      logger.info("deregistered from Consul", metadata: ["id": "\(id)"])
    } catch {
      logger.warning("cannot deregister from Consul (its check will fail)", metadata: ["error": "\(error)"])
    }
  }
}
