import ConsulCatalog
import ResourceCache

extension TranslationContext {
  /// An upstream in another datacenter (`Datacenter: dc2`), as Consul builds it: the cluster
  /// `<svc>.default.dc2.internal.<td>` expecting dc2's identity, whose endpoints follow the mesh
  /// gateway mode: the remote endpoints' WAN addresses (none), this datacenter's mesh gateways
  /// (local) or dc2's (remote). A Lambda service that a terminating gateway in dc2 links is
  /// reached through that gateway, which signs; an unlinked one cannot be reached from here.
  /// Returns the filter, or nil with a finding; once per service, datacenter and proxy.
  func reachRemote(
    _ upstream: Upstream, in remote: String, id: String, settings: UpstreamSettings, _ sidecar: Sidecar,
    _ cache: inout UpstreamCache, _ builder: inout ProxyBuilder
  ) -> UpstreamFilter? {
    let service = upstream.destinationName
    let key = CatalogChange.remoteKey(service, datacenter: remote)
    read(key)
    read(service)
    if let known = cache.filters[key] {
      cache.hits += 1
      return known
    }
    let mode = catalog.meshGatewayMode(of: upstream, proxy: sidecar.config)
    for problem in settings.problems { builder.warn(service, "upstream Config: \(problem)") }
    let filter: UpstreamFilter? = builder.capture(service) { part in
      guard catalog.knows(datacenter: remote) else {
        part.fail(service, "upstream in datacenter \(remote), which Consul does not know (/v1/catalog/datacenters); no listener")
        return nil
      }
      guard sidecar.hasIdentity else {
        part.fail(service, "no mesh certificate for \(sidecar.service) yet; upstream not configured")
        return nil
      }
      let answered = catalog.remote[remote]?.endpoints(of: service)
      let instances = answered ?? []
      let gated = instances.contains { $0.kind == .terminatingGateway }
      if !gated, answered != nil, catalog.lambdas[service] != nil {
        part.fail(
          service,
          "upstream in datacenter \(remote) is a Lambda service no terminating gateway there links: across datacenters a Lambda function is reached only through a terminating gateway in its datacenter (as in Consul); no listener")
        return nil
      }
      if answered == nil {
        part.warn(service, "no answer from datacenter \(remote) about \(service) yet; its cluster stays empty until one arrives")
      } else if instances.isEmpty {
        part.warn(service, "upstream has no instance in the mesh of datacenter \(remote); its cluster stays empty")
      } else if !instances.contains(where: \.healthy) {
        part.warn(service, "upstream has no healthy instance in datacenter \(remote); requests fail until one passes its checks")
      }
      let endpoints = remoteEndpoints(service, in: remote, instances: instances, mode: mode, &part)
      // Through a terminating gateway a Lambda service is HTTP, whatever the caller declared,
      // and the route waits as long as the gateway's.
      let function: LambdaFunction? = gated ? (try? catalog.lambdas[service]?.function.get()) : nil
      let lambda = gated && catalog.lambdas[service] != nil
      return try meshUpstream(
        service, id: id, settings: lambda ? UpstreamSettings(.object(["protocol": .string("http")])) : settings,
        endpoints: endpoints, lambda: function, datacenter: remote, sidecar, &part)
    }
    cache.set(filter, for: key)
    return filter
  }

  /// Where a sidecar sends traffic for a service in another datacenter. Through gateways, an
  /// endpoint is healthy while the gateway is and some instance behind it is, as in Consul.
  private func remoteEndpoints(
    _ service: String, in remote: String, instances: [ServiceInstance], mode: MeshGatewayMode, _ builder: inout ProxyBuilder
  ) -> [MeshEndpoints.Endpoint] {
    let anyHealthy = instances.contains(where: \.healthy)
    func through(_ gateways: [ServiceInstance], wan: Bool) -> [MeshEndpoints.Endpoint] {
      gateways.map { gateway in
        let address = wan ? gateway.wanAddress : gateway.lanAddress
        return .init(address: address.address, port: address.port, healthy: gateway.healthy && anyHealthy)
      }
    }
    switch mode {
    case .none:
      return instances.map { instance in
        var endpoint = MeshEndpoints.Endpoint(instance)
        (endpoint.address, endpoint.port) = (instance.wanAddress.address, instance.wanAddress.port)
        return endpoint
      }
    case .local:
      read(CatalogChange.meshGatewaysKey(datacenter: nil))
      if localMeshGateways.isEmpty {
        builder.warn(service, "upstream in datacenter \(remote) goes through this datacenter's mesh gateways (MeshGateway.Mode local), but it has none; its cluster stays empty")
      }
      return through(localMeshGateways, wan: false)
    case .remote:
      read(CatalogChange.meshGatewaysKey(datacenter: remote))
      let gateways = catalog.remote[remote]?.meshGateways ?? []
      if gateways.isEmpty {
        builder.warn(service, "upstream in datacenter \(remote) goes through its mesh gateways (MeshGateway.Mode remote), but it has none; its cluster stays empty")
      }
      warnWithoutWAN(gateways, in: remote, about: service, &builder)
      return through(gateways, wan: true)
    }
  }

  /// Gateways of another datacenter without a WAN address are dialled at their LAN address.
  func warnWithoutWAN(_ gateways: [ServiceInstance], in datacenter: String, about subject: String, _ builder: inout ProxyBuilder) {
    for gateway in gateways where !gateway.hasWANAddress {
      builder.warn(
        subject,
        "mesh gateway \(gateway.id) in datacenter \(datacenter) has no WAN address (Service.TaggedAddresses.wan); dialled at its address \(gateway.address):\(gateway.port), which other datacenters may not reach")
    }
  }
}
