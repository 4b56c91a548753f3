import ConsulCatalog
import ResourceCache

extension TranslationContext {
  /// A mesh gateway, as Consul configures it: one listener that routes by SNI without
  /// terminating TLS, a cluster per other datacenter (its mesh gateways, WAN addresses) and one
  /// per service of this datacenter (its sidecars, native instances, or the terminating
  /// gateways that link it). It holds no certificate: the mTLS session passes through.
  func meshGateway(_ proxy: ServiceInstance, _ builder: inout ProxyBuilder) {
    read(proxy.name)
    readEveryService()
    guard !proxy.address.isEmpty, proxy.port > 0 else {
      builder.fail(proxy.name, "mesh gateway \(proxy.id) has no address and port; no listener")
      return
    }
    guard catalog.trustDomain != nil else {
      builder.fail(proxy.name, "no listener: the mesh trust domain (Connect CA roots) is not known yet")
      return
    }
    if !proxy.hasWANAddress && !(catalog.datacenters.isEmpty && catalog.remote.isEmpty) {
      builder.warn(
        proxy.name,
        "mesh gateway \(proxy.id) has no WAN address (Service.TaggedAddresses.wan); other datacenters dial its address \(proxy.address):\(proxy.port)")
    }
    var reachable: [String] = []
    for remote in Set(catalog.datacenters).union(catalog.remote.keys).subtracting([datacenter]).sorted() {
      read(CatalogChange.meshGatewaysKey(datacenter: remote))
      let gateways = catalog.remote[remote]?.meshGateways ?? []
      guard !gateways.isEmpty else {
        builder.warn(proxy.name, "datacenter \(remote) has no mesh gateway lambda-xds knows of; no route to it")
        continue
      }
      warnWithoutWAN(gateways, in: remote, about: proxy.name, &builder)
      let routed: Void? = builder.capture(proxy.name) { part in
        let endpoints = gateways.map { gateway in
          MeshEndpoints.Endpoint(address: gateway.wanAddress.address, port: gateway.wanAddress.port, healthy: gateway.healthy)
        }
        let cluster = try shared(DatacenterCluster(datacenter: remote, gateways: endpoints))
        part.add(cluster)
        if !endpoints.usesDNS { part.add(try shared(MeshEndpoints(cluster: cluster.name, endpoints: endpoints))) }
        return ()
      }
      if routed != nil { reachable.append(remote) }
    }
    var services = Set(connectEndpoints.keys)
    for gateway in catalog.gatewayLinks.keys { services.formUnion(catalog.services(linkedTo: gateway)) }
    for service in services.sorted() {
      let endpoints = meshEndpoints(of: service).map { instance in
        var endpoint = MeshEndpoints.Endpoint(instance)
        (endpoint.address, endpoint.port) = (instance.lanAddress.address, instance.lanAddress.port)
        return endpoint
      }
      guard !endpoints.isEmpty else { continue }
      _ = builder.capture(service) { part -> Void? in
        let cluster = try shared(LocalServiceCluster(service: service))
        part.add(cluster)
        part.add(try shared(MeshEndpoints(cluster: cluster.name, endpoints: endpoints)))
        return nil
      }
    }
    _ = builder.capture(proxy.name) { part -> Void? in
      part.add(try shared(MeshGatewayListener(address: proxy.address, port: proxy.port, datacenters: reachable)))
      return nil
    }
  }
}
