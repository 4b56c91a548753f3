public import SwiftProtobuf
import EnvoyAPI
import Foundation

/// JSON in the form Envoy's admin API prints: proto field names (snake_case), typed `Any`.
public enum EnvoyJSON {
  /// Every message that can appear inside an `Any` in our output; JSON needs their names.
  private static let registered: Bool = {
    let types: [any Message.Type] = [
      Envoy_Config_Cluster_V3_Cluster.self,
      Envoy_Config_Endpoint_V3_ClusterLoadAssignment.self,
      Envoy_Config_Listener_V3_Listener.self,
      Envoy_Config_Route_V3_RouteConfiguration.self,
      Envoy_Extensions_TransportSockets_Tls_V3_Secret.self,
      Envoy_Extensions_TransportSockets_Tls_V3_UpstreamTlsContext.self,
      Envoy_Extensions_TransportSockets_Tls_V3_DownstreamTlsContext.self,
      Envoy_Extensions_Filters_Network_HttpConnectionManager_V3_HttpConnectionManager.self,
      Envoy_Extensions_Filters_Network_TcpProxy_V3_TcpProxy.self,
      Envoy_Extensions_Filters_Network_Rbac_V3_RBAC.self,
      Envoy_Extensions_Filters_Http_Router_V3_Router.self,
      Envoy_Extensions_Filters_Http_AwsLambda_V3_Config.self,
      Envoy_Extensions_Filters_Http_AwsLambda_V3_PerRouteConfig.self,
      Envoy_Extensions_Filters_Http_Rbac_V3_RBAC.self,
      Envoy_Extensions_Filters_Http_Rbac_V3_RBACPerRoute.self,
      Envoy_Extensions_Filters_Http_CustomResponse_V3_CustomResponse.self,
      Envoy_Extensions_Http_CustomResponse_LocalResponsePolicy_V3_LocalResponsePolicy.self,
      Envoy_Type_Matcher_V3_HttpResponseHeaderMatchInput.self,
      Envoy_Extensions_Filters_Http_UpstreamCodec_V3_UpstreamCodec.self,
      Envoy_Extensions_Filters_Listener_TlsInspector_V3_TlsInspector.self,
      Envoy_Extensions_Filters_Listener_OriginalDst_V3_OriginalDst.self,
      Envoy_Extensions_Filters_Http_HeaderToMetadata_V3_Config.self,
      Envoy_Extensions_Filters_Http_GrpcStats_V3_FilterConfig.self,
      Envoy_Extensions_Filters_Http_GrpcHttp1Bridge_V3_Config.self,
      Envoy_Extensions_Upstreams_Http_V3_HttpProtocolOptions.self,
      Envoy_Admin_V3_ClustersConfigDump.self,
      Envoy_Admin_V3_EndpointsConfigDump.self,
      Envoy_Admin_V3_ListenersConfigDump.self,
      Envoy_Admin_V3_RoutesConfigDump.self,
      Envoy_Admin_V3_SecretsConfigDump.self,
      Envoy_Config_Bootstrap_V3_Bootstrap.self,
    ]
    for type in types { Google_Protobuf_Any.register(messageType: type) }
    return true
  }()

  public static func string(_ message: some Message) throws -> String {
    precondition(registered)
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    return try message.jsonString(options: options)
  }

  /// Indented, with every object's keys sorted: stable text for golden files and diffs
  /// (protobuf's JSON printer does not order map keys).
  public static func canonical(_ message: some Message) throws -> String {
    let object = try JSONSerialization.jsonObject(with: Data(try string(message).utf8))
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self) + "\n"
  }
}
