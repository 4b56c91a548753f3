import ConsulCatalog
import EnvoyAPI
import ResourceCache
import SwiftProtobuf

/// An exposed path (`Proxy.Expose`): a plain-HTTP listener on its own port that serves exactly
/// one path of the local application without mTLS, so health checkers and metrics scrapers
/// outside the mesh reach it. Paths exposed for checks accept only local sources.
struct ExposedPathListener: ResourceSpec {
  var address: String
  var path: ExposePath
  /// `local_app` or `exposed_cluster_<port>`.
  var cluster: String
  /// From checks: the sources allowed (loopback and the node's address).
  var sources: [String]

  func resource(in environment: TranslationEnvironment) throws -> EncodedResource {
    let name = MeshNames.exposedPathFilter(path.path, port: path.listenerPort)
    let routes = ConnectionManagers.routes(
      name: name, virtualHost: name, cluster: cluster, match: .with { $0.path = path.path })
    let manager = ConnectionManagers.manager(
      statPrefix: name, protocol: path.protocol, routes: .inline(routes), filters: [try HTTPFilters.router()])
    let filter = try ConnectionManagers.networkFilter(manager)
    return try EncodedResource(
      Listener.with {
        $0.name = MeshNames.exposedPathListener(path.path, address: address, port: path.listenerPort)
        $0.address = .socket(address, path.listenerPort)
        $0.trafficDirection = .inbound
        $0.filterChains = [
          .with {
            if !sources.isEmpty {
              $0.filterChainMatch.sourcePrefixRanges = sources.map { source in
                let (address, length) = source.cidr
                return .with {
                  $0.addressPrefix = address
                  $0.prefixLen = .init(UInt32(length))
                }
              }
            }
            $0.filters = [filter]
          }
        ]
      })
  }
}

extension String {
  /// `10.0.0.0/8` -> ("10.0.0.0", 8); a bare address is a host route.
  var cidr: (String, Int) {
    let parts = split(separator: "/", maxSplits: 1)
    let address = String(parts[0])
    return (address, parts.count == 2 ? Int(parts[1]) ?? 32 : (address.contains(":") ? 128 : 32))
  }
}
