import ConsulCatalog
import ResourceCache

extension TranslationContext {
  /// A terminating gateway: one SNI filter chain per linked service (mTLS with that service's
  /// leaf, intentions; for a Lambda service signing), its cluster, and the HTTP chains' routes.
  func gateway(_ proxy: ServiceInstance, _ builder: inout ProxyBuilder) {
    read(proxy.name)
    // A `*` link fronts every Lambda service, including ones that appear later.
    if catalog.gatewayLinks[proxy.name]?.contains("*") == true { readEveryService() }
    guard !proxy.address.isEmpty, proxy.port > 0 else {
      builder.fail(proxy.name, "terminating gateway \(proxy.id) has no address and port; no listener")
      return
    }
    var chains: [GatewayListener.Chain] = []
    for service in catalog.services(linkedTo: proxy.name).sorted() {
      read(service)
      guard let registration = catalog.lambdas[service] else {
        if let chain = outsideService(service, gateway: proxy.name, &builder) { chains.append(chain) }
        continue
      }
      guard case .success(let function) = registration.function else {
        builder.fail(service, "no filter chain: \(registration.invalidReason ?? "invalid")")
        continue
      }
      guard let trustDomain = catalog.trustDomain else {
        builder.fail(service, "no filter chain: the mesh trust domain (Connect CA roots) is not known yet")
        continue
      }
      let chain: GatewayListener.Chain? = builder.capture(service) { part in
        guard try addMeshSecrets(for: service, &part) else {
          part.fail(service, "no filter chain: no mesh certificate for \(service) yet")
          return nil
        }
        part.add(try shared(LambdaCluster(service: service, function: function)))
        let intentions = catalog.effectiveIntentions(for: service)
        for warning in intentions?.warnings ?? [] { part.warn(service, warning) }
        let sni = MeshNames.sni(service, datacenter: datacenter, trustDomain: trustDomain)
        try TLSSockets.checkServerName(sni)
        let chain = GatewayListener.Chain(
          service: service, sni: sni, kind: .lambda(function),
          rbac: IntentionsRBAC.rules(intentions, trustDomain: trustDomain, defaultPolicy: intentionPolicy, http: true))
        part.add(try shared(GatewayListener.Routes(chain: chain)))
        part.sign(function.arn.description)
        return chain
      }
      if let chain { chains.append(chain) }
    }
    guard !chains.isEmpty else {
      builder.warn(proxy.name, "no linked service is ready on this gateway; no listener")
      return
    }
    _ = builder.capture(proxy.name) { part -> Void? in
      part.add(try shared(GatewayListener(address: proxy.address, port: proxy.port, chains: chains)))
      return nil
    }
  }

  /// The chain for a linked service outside the mesh (a database, an external API): as Consul,
  /// only once it has a catalog instance; TCP or HTTP by its protocol; its cluster to the
  /// instances, with the TLS the gateway entry originates.
  private func outsideService(_ service: String, gateway: String, _ builder: inout ProxyBuilder) -> GatewayListener.Chain? {
    let instances = (instancesByService[service] ?? []).filter { $0.kind == .typical && !$0.address.isEmpty && $0.port > 0 }
    guard !instances.isEmpty else {
      builder.warn(service, "linked to this gateway but has no catalog instance with an address and port; no filter chain")
      return nil
    }
    guard let trustDomain = catalog.trustDomain else {
      builder.fail(service, "no filter chain: the mesh trust domain (Connect CA roots) is not known yet")
      return nil
    }
    return builder.capture(service) { part in
      guard try addMeshSecrets(for: service, &part) else {
        part.fail(service, "no filter chain: no mesh certificate for \(service) yet")
        return nil
      }
      let tls = catalog.gatewayTLS[gateway]?[service]
      for warning in tls?.fileWarnings ?? [] { part.warn(service, "TLS origination: \(warning)") }
      if let errors = tls?.fileErrors, !errors.isEmpty {
        part.fail(service, "no filter chain: TLS origination: \(errors.joined(separator: "; "))")
        return nil
      }
      let proto = servedProtocol(catalog.serviceProtocol(service), of: service, &part)
      let http = UpstreamSettings.isHTTP(proto)
      let endpoints = instances.map(MeshEndpoints.Endpoint.init)
      let cluster = GatewayServiceCluster(
        service: service, instances: endpoints, tls: tls, http2: ["http2", "grpc"].contains(proto))
      let built = try shared(cluster)
      part.add(built)
      if !cluster.usesDNS { part.add(try shared(MeshEndpoints(cluster: built.name, endpoints: endpoints))) }
      let intentions = catalog.effectiveIntentions(for: service)
      for warning in intentions?.warnings ?? [] { part.warn(service, warning) }
      let sni = MeshNames.sni(service, datacenter: datacenter, trustDomain: trustDomain)
      try TLSSockets.checkServerName(sni)
      let chain = GatewayListener.Chain(
        service: service, sni: sni, kind: http ? .http(protocol: proto) : .tcp,
        rbac: IntentionsRBAC.rules(intentions, trustDomain: trustDomain, defaultPolicy: intentionPolicy, http: http))
      if http { part.add(try shared(GatewayListener.Routes(chain: chain))) }
      return chain
    }
  }
}
