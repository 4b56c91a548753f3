public import EnvoyAPI
import SwiftProtobuf

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
