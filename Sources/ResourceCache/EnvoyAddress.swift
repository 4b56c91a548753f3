public import EnvoyAPI
public import SwiftProtobuf

extension Envoy_Config_Core_V3_Address {
  /// A TCP socket address, the only kind lambda-xds emits.
  public static func socket(_ host: String, _ port: Int) -> Self {
    .with {
      $0.socketAddress.address = host
      $0.socketAddress.portValue = UInt32(port)
    }
  }
}

extension Envoy_Config_Core_V3_ConfigSource {
  /// "Over the same ADS stream": how EDS, RDS and SDS references are resolved.
  public static let ads = Self.with {
    $0.ads = .init()
    $0.resourceApiVersion = .v3
  }
}

extension Envoy_Config_Core_V3_TransportSocket {
  /// Envoy's TLS transport socket around an upstream or downstream TLS context.
  public static func tls(_ context: some Message) throws -> Self {
    let any = try Google_Protobuf_Any.packing(context)
    return .with {
      $0.name = "envoy.transport_sockets.tls"
      $0.typedConfig = any
    }
  }
}
