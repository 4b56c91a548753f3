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
  public var secrets: [String: String] = [:]
  /// `<kind>/<name>` -> when Envoy last changed that resource (`last_updated`), for every
  /// dynamic cluster, listener, route configuration and secret: equal before and after an event
  /// means Envoy applied no change.
  public var lastUpdated: [String: String] = [:]

  /// Every resource's version, as `<kind>/<name>` -> version.
  public var versions: [String: String] {
    var all: [String: String] = [:]
    for (kind, map) in [("cluster", clusters), ("listener", listeners), ("route", routes), ("endpoint", endpoints), ("secret", secrets)] {
      for (name, version) in map { all["\(kind)/\(name)"] = version }
    }
    return all
  }

  public init(json: String) throws {
    guard let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
      let configs = root["configs"] as? [[String: Any]]
    else { throw EnvoyError("config_dump is not the expected JSON") }
    for config in configs {
      switch (config["@type"] as? String ?? "").split(separator: ".").last {
      case "ClustersConfigDump":
        clusters = Self.versions(config["dynamic_active_clusters"], resource: "cluster", name: "name")
        Self.record(config["dynamic_active_clusters"], "cluster", resource: "cluster", name: "name", into: &lastUpdated)
        warmingClusters = Self.versions(config["dynamic_warming_clusters"], resource: "cluster", name: "name")
      case "ListenersConfigDump":
        for listener in config["dynamic_listeners"] as? [[String: Any]] ?? [] {
          let name = listener["name"] as? String ?? ""
          if let active = listener["active_state"] as? [String: Any] {
            listeners[name] = active["version_info"] as? String ?? ""
            lastUpdated["listener/\(name)"] = active["last_updated"] as? String ?? ""
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
        Self.record(config["dynamic_route_configs"], "route", resource: "route_config", name: "name", into: &lastUpdated)
      case "EndpointsConfigDump":
        endpoints = Self.versions(
          config["dynamic_endpoint_configs"], resource: "endpoint_config", name: "cluster_name")
      case "SecretsConfigDump":
        for secret in config["dynamic_active_secrets"] as? [[String: Any]] ?? [] {
          guard let name = secret["name"] as? String else { continue }
          secrets[name] = secret["version_info"] as? String ?? ""
          lastUpdated["secret/\(name)"] = secret["last_updated"] as? String ?? ""
        }
      default:
        continue
      }
    }
  }

  private static func record(
    _ list: Any?, _ kind: String, resource: String, name: String, into result: inout [String: String]
  ) {
    for entry in list as? [[String: Any]] ?? [] {
      guard let body = entry[resource] as? [String: Any], let key = body[name] as? String else { continue }
      result["\(kind)/\(key)"] = entry["last_updated"] as? String ?? ""
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
