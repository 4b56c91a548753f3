public import EnvoyAPI
import Foundation
import SwiftProtobuf

extension Snapshot {
  /// The snapshot as Envoy's admin `/config_dump` shows dynamic resources, so the two can be
  /// diffed. `version_info` is each resource's own version (what a delta stream sends).
  ///
  /// Private keys are replaced by `[redacted]`, as Envoy's own dump does.
  public func configDump() throws -> Envoy_Admin_V3_ConfigDump {
    func sorted(_ type: ResourceType) -> [EncodedResource] {
      resources(type).values.sorted { $0.name < $1.name }
    }
    let clusters = Envoy_Admin_V3_ClustersConfigDump.with {
      $0.dynamicActiveClusters = sorted(.cluster).map { resource in
        .with {
          $0.versionInfo = resource.version
          $0.cluster = resource.any
        }
      }
    }
    let endpoints = Envoy_Admin_V3_EndpointsConfigDump.with {
      $0.dynamicEndpointConfigs = sorted(.endpoint).map { resource in
        .with {
          $0.versionInfo = resource.version
          $0.endpointConfig = resource.any
        }
      }
    }
    let listeners = Envoy_Admin_V3_ListenersConfigDump.with {
      $0.dynamicListeners = sorted(.listener).map { resource in
        .with {
          $0.name = resource.name
          $0.activeState.versionInfo = resource.version
          $0.activeState.listener = resource.any
        }
      }
    }
    let routes = Envoy_Admin_V3_RoutesConfigDump.with {
      $0.dynamicRouteConfigs = sorted(.route).map { resource in
        .with {
          $0.versionInfo = resource.version
          $0.routeConfig = resource.any
        }
      }
    }
    let secrets = try Envoy_Admin_V3_SecretsConfigDump.with {
      $0.dynamicActiveSecrets = try sorted(.secret).map { resource in
        let secret = try Secret(serializedBytes: resource.bytes).redacted()
        return try .with {
          $0.name = resource.name
          $0.versionInfo = resource.version
          $0.secret = try .packing(secret)
        }
      }
    }
    return try .with {
      $0.configs = [
        try .packing(clusters), try .packing(endpoints), try .packing(listeners), try .packing(routes),
        try .packing(secrets),
      ]
    }
  }
}

typealias Secret = Envoy_Extensions_TransportSockets_Tls_V3_Secret

extension Envoy_Extensions_TransportSockets_Tls_V3_Secret {
  /// Private keys never leave the server in dumps, logs or metrics.
  public func redacted() -> Self {
    guard case .tlsCertificate(let certificate) = type, certificate.hasPrivateKey else { return self }
    var copy = self
    copy.tlsCertificate.privateKey = .with { $0.inlineString = "[redacted]" }
    return copy
  }
}
