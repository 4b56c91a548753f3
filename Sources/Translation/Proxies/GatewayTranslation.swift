import ConsulCatalog
import ResourceCache

extension TranslationContext {
  /// A terminating gateway: one SNI filter chain per linked Lambda service (mTLS with that
  /// service's leaf, intentions, signing), its Lambda cluster, and the chains' routes.
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
        builder.warn(service, "linked to this gateway but not a Lambda service: lambda-xds configures only Lambda services; no filter chain")
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
          service: service, sni: sni,
          function: function,
          rbac: IntentionsRBAC.rules(intentions, trustDomain: trustDomain, defaultPolicy: intentionPolicy, http: true))
        part.add(try shared(GatewayListener.Routes(chain: chain)))
        part.signs.insert(function.arn.description)
        return chain
      }
      if let chain { chains.append(chain) }
    }
    guard !chains.isEmpty else {
      builder.warn(proxy.name, "no Lambda service is ready on this gateway; no listener")
      return
    }
    _ = builder.capture(proxy.name) { part -> Void? in
      part.add(try shared(GatewayListener(address: proxy.address, port: proxy.port, chains: chains)))
      return nil
    }
  }
}
