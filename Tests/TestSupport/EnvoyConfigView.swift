import Foundation

/// The parts of Envoy's `/config_dump` the tests assert on: resource names and the version each
/// was accepted at.
public struct EnvoyConfigView: Sendable {
  public var clusters: [String: String] = [:]
  public var warmingClusters: [String: String] = [:]
  public var listeners: [String: String] = [:]
  public var warmingListeners: [String: String] = [:]
  /// Listener name -> the error Envoy recorded when it rejected an update.
  public var listenerErrors: [String: String] = [:]
  public var routes: [String: String] = [:]
  public var endpoints: [String: String] = [:]

  public init(json: String) throws {
    guard let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
      let configs = root["configs"] as? [[String: Any]]
    else { throw EnvoyError("config_dump is not the expected JSON") }
    for config in configs {
      switch (config["@type"] as? String ?? "").split(separator: ".").last {
      case "ClustersConfigDump":
        clusters = Self.versions(config["dynamic_active_clusters"], resource: "cluster", name: "name")
        warmingClusters = Self.versions(config["dynamic_warming_clusters"], resource: "cluster", name: "name")
      case "ListenersConfigDump":
        for listener in config["dynamic_listeners"] as? [[String: Any]] ?? [] {
          let name = listener["name"] as? String ?? ""
          if let active = listener["active_state"] as? [String: Any] {
            listeners[name] = active["version_info"] as? String ?? ""
          }
          if let warming = listener["warming_state"] as? [String: Any] {
            warmingListeners[name] = warming["version_info"] as? String ?? ""
          }
          if let error = listener["error_state"] as? [String: Any] {
            listenerErrors[name] = error["details"] as? String ?? ""
          }
        }
      case "RoutesConfigDump":
        routes = Self.versions(config["dynamic_route_configs"], resource: "route_config", name: "name")
      case "EndpointsConfigDump":
        endpoints = Self.versions(
          config["dynamic_endpoint_configs"], resource: "endpoint_config", name: "cluster_name")
      default:
        continue
      }
    }
  }

  private static func versions(_ list: Any?, resource: String, name: String) -> [String: String] {
    var result: [String: String] = [:]
    for entry in list as? [[String: Any]] ?? [] {
      guard let body = entry[resource] as? [String: Any], let key = body[name] as? String else {
        continue
      }
      result[key] = entry["version_info"] as? String ?? ""
    }
    return result
  }
}
