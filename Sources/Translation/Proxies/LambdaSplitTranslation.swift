import ConsulCatalog
import ResourceCache

extension TranslationContext {
  /// A canary between Lambda versions, Consul's way: the upstream's `service-splitter` splits it
  /// between Lambda services (each with its own ARN or qualifier). All direct: one route with
  /// weighted Lambda clusters, each weight with its function's settings. All through gateways:
  /// weighted mesh clusters to the gateway, one per service's SNI, so the gateway's chain for
  /// each applies its settings. nil when the service has no splitter naming a Lambda service
  /// (it is then an ordinary upstream); a split that cannot be followed throws why.
  func lambdaSplit(_ service: String, id: String, _ sidecar: Sidecar, _ builder: inout ProxyBuilder) throws
    -> UpstreamFilter?
  {
    guard let splitter = catalog.splitters[service] else { return nil }
    for split in splitter.splits { read(split.service) }
    guard splitter.splits.contains(where: { plan.routes[$0.service] != nil }) else { return nil }
    func refuse(_ why: String) -> CatalogError { CatalogError("service-splitter \(service): \(why); upstream not configured") }
    if let problem = splitter.problem { throw CatalogError("\(problem); upstream not configured") }
    if let subset = splitter.splits.first(where: { $0.subset != nil }) {
      throw refuse("split \(subset.service) names ServiceSubset \(subset.subset!), which lambda-xds does not follow for Lambda services")
    }
    let routes = try splitter.splits.map { split throws(CatalogError) -> (ServiceSplitter.Split, LambdaRoute) in
      guard let route = plan.routes[split.service], route.function != nil else {
        throw refuse("split \(split.service) is not a configured Lambda service")
      }
      return (split, route)
    }
    if case .direct = routes[0].1 {
      var targets: [LambdaSplit.Target] = []
      for (split, route) in routes {
        guard case .direct(let function) = route else { throw refuse("its Lambda services are reached both directly and through a gateway") }
        guard function.filterMode == routes[0].1.function!.filterMode else {
          throw refuse("its Lambda services use different lambda-xds/filter-mode values")
        }
        let cluster = try shared(LambdaCluster(service: split.service, function: function))
        builder.add(cluster)
        builder.sign(function.arn.description)
        targets.append(
          .init(
            service: split.service, function: function, cluster: cluster.name, weight: split.weight,
            intentions: IntentionsRBAC.rules(
              forCaller: sidecar.service, catalog.effectiveIntentions(for: split.service), defaultPolicy: intentionPolicy)))
      }
      let split = LambdaSplit(targets: targets, route: id)
      if !split.mapsFunctionErrorsAlike(options) {
        builder.warn(service, "its Lambda services set different lambda-xds/function-error-status values; function errors pass through as 200")
      }
      return .lambdaSplit(split)
    }
    guard sidecar.hasIdentity else { throw refuse("no mesh certificate for \(sidecar.service) yet") }
    var weights: [UpstreamRoute.Weight] = []
    var longest: LambdaFunction?
    for (split, route) in routes {
      guard case .gated(let function, _, let gateways) = route else {
        throw refuse("its Lambda services are reached both directly and through a gateway")
      }
      let cluster = try meshCluster(
        split.service, settings: UpstreamSettings(.object(["protocol": .string("http")])),
        endpoints: gateways.map(MeshEndpoints.Endpoint.init), sidecar, &builder)
      weights.append(.init(cluster: cluster, weight: split.weight))
      if function.timeoutMilliseconds > longest?.timeoutMilliseconds ?? 0 { longest = function }
    }
    builder.add(try shared(UpstreamRoute(id: id, cluster: weights[0].cluster, lambda: longest, weighted: weights)))
    return .http(protocol: "http", route: id)
  }
}
