/// The release, as `--version` and `lambda_xds_build_info` give it.
public enum LambdaXDSVersion {
  public static let current = "0.9.0"
  /// The Envoy API lambda-xds speaks (and the Envoy it is tested with).
  public static let envoyAPI = "xDS v3 (ADS, state of the world and delta); tested with Envoy 1.40"
}
