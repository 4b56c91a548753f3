import ConsulCatalog
import ResourceCache

extension TranslationContext {
  /// A sidecar, as Consul's xDS server configures it: the inbound side (public listener,
  /// `local_app`, exposed paths), every explicit upstream, and in transparent mode the outbound
  /// listener for every service it may reach. Lambda upstreams take lambda-xds's routes.
  func sidecar(_ proxy: ServiceInstance, _ builder: inout ProxyBuilder) {
    guard let config = proxy.proxy else { return }
    let service = config.destinationServiceName
    read(service)
    let resolved = catalog.resolved(config)
    for problem in config.problems { builder.fail(service, "proxy \(proxy.id): \(problem)") }
    let hasIdentity = (try? addMeshSecrets(for: service, &builder)) ?? false
    let inbound = InboundSettings(resolved.config)
    for problem in inbound.problems { builder.warn(service, "proxy \(proxy.id) Config: \(problem)") }
    let sidecar = Sidecar(proxy: proxy, config: config, resolved: resolved, inbound: inbound, hasIdentity: hasIdentity)
    self.inbound(sidecar, &builder)
    exposedPaths(sidecar, &builder)
    var upstreams = UpstreamCache()
    let explicit = explicitUpstreams(sidecar, &upstreams, &builder)
    if resolved.mode == .transparent {
      transparent(sidecar, skipping: explicit, &upstreams, &builder)
    }
  }

  // MARK: Inbound

  private func inbound(_ sidecar: Sidecar, _ builder: inout ProxyBuilder) {
    let service = sidecar.service
    let port = sidecar.inbound.bindPort ?? sidecar.proxy.port
    guard port > 0 else {
      builder.fail(service, "proxy \(sidecar.proxy.id) has no Port; no public listener")
      return
    }
    guard let localPort = sidecar.config.localServicePort else {
      if !sidecar.config.problems.contains(where: { $0.hasPrefix("LocalServicePort") }) {
        builder.fail(service, "proxy \(sidecar.proxy.id) has no LocalServicePort; no public listener")
      }
      return
    }
    guard let trustDomain = catalog.trustDomain, sidecar.hasIdentity else {
      builder.fail(service, "no mesh certificate for \(service) yet; no public listener")
      return
    }
    let proto = servedProtocol(sidecar.resolved.protocol, of: service, &builder)
    let http = UpstreamSettings.isHTTP(proto)
    let intentions = catalog.effectiveIntentions(for: service)
    for warning in intentions?.warnings ?? [] { builder.warn(service, warning) }
    let rules = IntentionsRBAC.rules(intentions, trustDomain: trustDomain, defaultPolicy: intentionPolicy, http: http)
    _ = builder.capture(service) { part -> Void? in
      part.add(
        try shared(
          PublicListener(
            address: sidecar.bindAddress, port: port, service: service, protocol: proto, rules: rules,
            sanitizeClientCertificate: catalog.mesh.sanitizeXForwardedClientCert)))
      if http {
        part.add(
          try shared(
            PublicRoute(
              rules: rules, requestTimeoutMilliseconds: sidecar.inbound.localRequestTimeoutMilliseconds,
              idleTimeoutMilliseconds: sidecar.inbound.localIdleTimeoutMilliseconds)))
      }
      part.add(
        try shared(
          LocalAppCluster(
            name: MeshNames.localApp, address: sidecar.config.localServiceAddress, port: localPort,
            connectTimeoutMilliseconds: sidecar.inbound.localConnectTimeoutMilliseconds,
            http2: ["http2", "grpc"].contains(proto))))
      return nil
    }
  }

  // MARK: Expose

  private func exposedPaths(_ sidecar: Sidecar, _ builder: inout ProxyBuilder) {
    var paths = sidecar.resolved.expose.paths.map { ($0, [String]()) }
    if sidecar.resolved.expose.checks {
      let local = ["127.0.0.1/8", "::1/128"] + (sidecar.proxy.address.isEmpty ? [] : [sidecar.proxy.address])
      for check in catalog.instances[sidecar.config.destinationServiceID]?.checks ?? [] {
        guard let path = ExposePath(check: check) else {
          builder.warn(sidecar.service, "check \(check.id) cannot be exposed: the catalog shows no ExposedPort or a usable target")
          continue
        }
        paths.append((path, local))
      }
    }
    var ports: [Int: String] = [:]
    for (path, sources) in paths {
      if let other = ports[path.listenerPort] {
        builder.fail(sidecar.service, "exposed path \(path.path) uses listener port \(path.listenerPort), already used by \(other); left out")
        continue
      }
      ports[path.listenerPort] = path.path
      _ = builder.capture(sidecar.service) { part -> Void? in
        var cluster = MeshNames.localApp
        if path.localPathPort != sidecar.config.localServicePort {
          cluster = MeshNames.exposedCluster(port: path.localPathPort)
          part.add(
            try shared(
              LocalAppCluster(
                name: cluster, address: sidecar.config.localServiceAddress, port: path.localPathPort,
                connectTimeoutMilliseconds: sidecar.inbound.localConnectTimeoutMilliseconds, http2: path.protocol == "http2")))
        } else if sidecar.config.localServicePort == nil {
          return nil
        }
        part.add(try shared(ExposedPathListener(address: sidecar.bindAddress, path: path, cluster: cluster, sources: sources)))
        return nil
      }
    }
  }

  // MARK: Upstreams

  /// Explicit upstreams with a bind port get a listener each; returns the services they reach.
  private func explicitUpstreams(_ sidecar: Sidecar, _ cache: inout UpstreamCache, _ builder: inout ProxyBuilder)
    -> Set<String>
  {
    var bound: [String: String] = [:]
    var listened = Set<String>()
    let proxyReads = reads.services
    // Filters a later upstream or the transparent proxy may take from the cache are kept with the parts.
    let names = sidecar.config.upstreams.map(\.destinationName)
    let keepFilters = sidecar.resolved.mode == .transparent || Set(names).count < names.count
    for (index, upstream) in sidecar.config.upstreams.enumerated() {
      let name = upstream.destinationName
      guard upstream.destinationType == "service" else {
        builder.warn(name, "upstream of type \(upstream.destinationType) is not supported; no listener")
        continue
      }
      guard let port = upstream.localBindPort else {
        if sidecar.resolved.mode != .transparent {
          builder.warn(name, "upstream has no LocalBindPort; no listener")
        }
        continue
      }
      let socket = "\(upstream.localBindAddress):\(port)"
      if let other = bound[socket] {
        builder.fail(name, "upstream binds \(socket), already used by upstream \(other); no listener")
        continue
      }
      bound[socket] = name
      let local = upstreamPart(index, of: sidecar, reusingAfter: proxyReads, keepingFilters: keepFilters, &cache, &builder) { cache, builder in
        let id = MeshNames.upstreamID(upstream)
        let settings = UpstreamSettings(catalog.resolvedConfig(of: upstream, caller: sidecar.service))
        let remote = upstream.datacenter.isEmpty || upstream.datacenter == datacenter ? nil : upstream.datacenter
        let reached = remote.map { reachRemote(upstream, in: $0, id: id, settings: settings, sidecar, &cache, &builder) }
          ?? reach(name, id: id, settings: settings, sidecar, &cache, &builder)
        guard let filter = reached else { return false }
        _ = builder.capture(name) { part -> Void? in
          part.add(
            try shared(
              UpstreamListener(
                id: id, service: name, address: upstream.localBindAddress, port: port, filter: filter, datacenter: remote)))
          return nil
        }
        return remote == nil
      }
      if local { listened.insert(name) }
    }
    return listened
  }

  /// Builds what reaching `service` takes (cluster, endpoints, route) and returns the filter
  /// that sends to it; nil, with a finding, when it cannot be reached. Once per service and proxy.
  private func reach(
    _ service: String, id: String, settings: UpstreamSettings, _ sidecar: Sidecar, _ cache: inout UpstreamCache,
    _ builder: inout ProxyBuilder
  ) -> UpstreamFilter? {
    read(service)
    if let known = cache.filters[service] {
      cache.hits += 1
      return known
    }
    for problem in settings.problems { builder.warn(service, "upstream Config: \(problem)") }
    let filter: UpstreamFilter? = builder.capture(service) { part in
      switch plan.routes[service] {
      case .excluded(let reason):
        part.fail(service, "upstream not configured: \(reason)")
        return nil
      case .direct(let function):
        let cluster = try shared(LambdaCluster(service: service, function: function))
        part.add(cluster)
        part.sign(function.arn.description)
        let intentions = catalog.effectiveIntentions(for: service)
        return .lambda(
          function, cluster: cluster.name, route: id,
          intentions: IntentionsRBAC.rules(forCaller: sidecar.service, intentions, defaultPolicy: intentionPolicy))
      case .gated(let function, _, let gateways):
        guard sidecar.hasIdentity else {
          part.fail(service, "no mesh certificate for \(sidecar.service) yet; the upstream through the gateway needs one")
          return nil
        }
        return try meshUpstream(
          service, id: id, settings: UpstreamSettings(.object(["protocol": .string("http")])), endpoints: gateways,
          lambda: function, sidecar, &part)
      case nil:
        if let split = try lambdaSplit(service, id: id, sidecar, &part) { return split }
        guard sidecar.hasIdentity else {
          part.fail(service, "no mesh certificate for \(sidecar.service) yet; upstream not configured")
          return nil
        }
        let endpoints = meshEndpoints(of: service)
        if endpoints.isEmpty {
          part.warn(service, "upstream has no instance in the mesh (no sidecar or Connect-native instance); its cluster stays empty")
        } else if !endpoints.contains(where: \.healthy) {
          part.warn(service, "upstream has no healthy instance; requests fail until one passes its checks")
        }
        let destination = catalog.serviceProtocol(service)
        if settings.protocol != destination {
          part.warn(
            service,
            "upstream uses protocol \(settings.protocol) but \(service) is \(destination) (service-defaults / proxy-defaults); using \(settings.protocol)")
        }
        return try meshUpstream(service, id: id, settings: settings, endpoints: endpoints, sidecar, &part)
      }
    }
    cache.set(filter, for: service)
    return filter
  }

  /// A mesh cluster with its endpoints (and, for HTTP, its route).
  private func meshUpstream(
    _ service: String, id: String, settings: UpstreamSettings, endpoints: [ServiceInstance], lambda: LambdaFunction? = nil,
    _ sidecar: Sidecar, _ builder: inout ProxyBuilder
  ) throws -> UpstreamFilter {
    try meshUpstream(
      service, id: id, settings: settings, endpoints: endpoints.map(MeshEndpoints.Endpoint.init), lambda: lambda,
      sidecar, &builder)
  }

  /// A mesh cluster (in `datacenter`, nil: this one) with these endpoints (and, for HTTP, its route).
  func meshUpstream(
    _ service: String, id: String, settings: UpstreamSettings, endpoints: [MeshEndpoints.Endpoint],
    lambda: LambdaFunction? = nil, datacenter: String? = nil, _ sidecar: Sidecar, _ builder: inout ProxyBuilder
  ) throws -> UpstreamFilter {
    let cluster = try meshCluster(service, settings: settings, endpoints: endpoints, datacenter: datacenter, sidecar, &builder)
    guard settings.isHTTP else { return .tcp(cluster: cluster) }
    builder.add(try shared(UpstreamRoute(id: id, cluster: cluster, lambda: lambda)))
    return .http(protocol: settings.protocol, route: id)
  }

  /// A mesh cluster to `service` with these endpoints; its name.
  func meshCluster(
    _ service: String, settings: UpstreamSettings, endpoints: [MeshEndpoints.Endpoint], datacenter: String? = nil,
    _ sidecar: Sidecar, _ builder: inout ProxyBuilder
  ) throws -> String {
    let cluster = try shared(MeshCluster(service: service, caller: sidecar.service, settings: settings, datacenter: datacenter))
    builder.add(cluster)
    builder.add(try shared(MeshEndpoints(cluster: cluster.name, endpoints: endpoints)))
    return cluster.name
  }

  // MARK: Transparent proxy

  /// The outbound listener: a chain per service the proxy's service may reach (every mesh
  /// service when intentions default to allow, those intended otherwise), matched by its
  /// virtual IPs, plus passthrough chains for instances dialled directly.
  private func transparent(
    _ sidecar: Sidecar, skipping explicit: Set<String>, _ cache: inout UpstreamCache, _ builder: inout ProxyBuilder
  ) {
    let source = sidecar.service
    // Every service, its virtual IPs and its intentions decide what this proxy may reach.
    readEveryService()
    let defaultAllow = intentionPolicy == .allow
    var candidates = Set(instancesByService.compactMap { name, instances in
      instances.contains { $0.kind == .typical } ? name : nil
    })
    candidates.formUnion(plan.routes.keys)
    candidates = candidates.filter {
      $0 != "consul" && $0 != source && catalog.intentionAllows(source: source, destination: $0, defaultAllow: defaultAllow)
    }
    // Explicit upstreams without a bind port are reached here too, whatever the intentions.
    for upstream in sidecar.config.upstreams where upstream.localBindPort == nil && upstream.destinationType == "service" {
      candidates.insert(upstream.destinationName)
    }
    var claimed: [String: String] = [:]
    var chains: [OutboundListener.Chain] = []
    func claim(_ addresses: [String], for service: String, _ builder: inout ProxyBuilder) -> [String] {
      var mine: [String] = []
      for address in Set(addresses).sorted() {
        if let owner = claimed[address], owner != service {
          builder.warn(service, "address \(address) also belongs to \(owner); the transparent proxy sends it to \(owner)")
          continue
        }
        claimed[address] = service
        mine.append(address)
      }
      return mine
    }
    for service in candidates.sorted() where !explicit.contains(service) {
      let endpoints = meshEndpoints(of: service)
      let virtualIPs = virtualIPs(of: service)
      guard !virtualIPs.isEmpty else {
        if !endpoints.isEmpty || plan.routes[service] != nil {
          builder.warn(service, "reachable through the transparent proxy but has no virtual IP (TaggedAddresses consul-virtual or virtual); no filter chain")
        }
        continue
      }
      let upstream = Upstream(destinationName: service, localBindPort: nil)
      let settings = UpstreamSettings(catalog.resolvedConfig(of: upstream, caller: source))
      guard let filter = reach(service, id: MeshNames.upstreamID(upstream), settings: settings, sidecar, &cache, &builder)
      else { continue }
      let addresses = claim(virtualIPs, for: service, &builder)
      if !addresses.isEmpty { chains.append(.init(service: service, addresses: addresses, filter: filter)) }
      let direct = endpoints.filter { endpoint in
        endpoint.proxy?.transparentProxy.dialedDirectly ?? catalog.serviceDefaults[service]?.transparentProxy.dialedDirectly ?? false
      }
      guard !direct.isEmpty, plan.routes[service] == nil else { continue }
      let passthrough: EncodedResource? = builder.capture(service) { part in
        let cluster = try shared(OriginalDestinationCluster(passthroughService: service, caller: source))
        part.add(cluster)
        return cluster
      }
      let instances = claim(direct.map(\.address).filter { !$0.isEmpty }, for: service, &builder)
      if let passthrough, !instances.isEmpty {
        chains.append(.init(service: service, addresses: instances, filter: .tcp(cluster: passthrough.name)))
      }
    }
    let passthrough = !catalog.mesh.meshDestinationsOnly
    guard !chains.isEmpty || passthrough else { return }
    _ = builder.capture(source) { part -> Void? in
      if passthrough { part.add(try shared(OriginalDestinationCluster(passthroughService: nil, caller: source))) }
      part.add(try shared(OutboundListener(port: sidecar.resolved.outboundListenerPort, chains: chains, passthrough: passthrough)))
      return nil
    }
  }

  /// A service's protocol as a listener serves it: tcp, http, http2 or grpc; anything else is
  /// served as tcp, with a warning.
  func servedProtocol(_ proto: String, of service: String, _ builder: inout ProxyBuilder) -> String {
    guard proto != "tcp" && !UpstreamSettings.isHTTP(proto) else { return proto }
    builder.warn(service, "protocol \(proto) is not tcp, http, http2 or grpc; served as tcp")
    return "tcp"
  }

  /// Where a sidecar sends a mesh service's traffic, as Consul's `/v1/health/connect` lists it:
  /// the terminating gateways that link it, else its sidecars and Connect-native instances.
  func meshEndpoints(of service: String) -> [ServiceInstance] {
    let gateways = catalog.gateways(linking: service)
    guard !gateways.isEmpty else { return connectEndpoints[service] ?? [] }
    return gateways.flatMap { instancesByService[$0] ?? [] }
  }

  /// A service's virtual IPs: those on its mesh endpoints and its own instances, and the
  /// `consul-virtual:<service>` address each terminating gateway linking it carries.
  private func virtualIPs(of service: String) -> [String] {
    var addresses = (connectEndpoints[service] ?? []).flatMap(\.virtualIPs)
    addresses += (instancesByService[service] ?? []).flatMap(\.virtualIPs)
    for gateway in catalog.gateways(linking: service) {
      addresses += (instancesByService[gateway] ?? []).compactMap { $0.taggedAddresses["consul-virtual:\(service)"]?.address }
    }
    return addresses
  }
}

/// One sidecar's inputs, resolved once.
struct Sidecar {
  var proxy: ServiceInstance
  var config: ProxyConfig
  var resolved: ResolvedProxyConfig
  var inbound: InboundSettings
  var hasIdentity: Bool

  var service: String { config.destinationServiceName }
  /// Where inbound listeners bind: `bind_address`, else the registration's service address,
  /// else every address.
  var bindAddress: String { inbound.bindAddress ?? (proxy.serviceAddress.isEmpty ? "0.0.0.0" : proxy.serviceAddress) }
}

/// What reaching each upstream service took, so an explicit and an implicit upstream to the
/// same service share one cluster.
struct UpstreamCache {
  private(set) var filters: [String: UpstreamFilter?] = [:]
  /// Keys in the order they were set, and how many lookups found one (for ``UpstreamPart``).
  private(set) var added: [String] = []
  var hits = 0

  mutating func set(_ filter: UpstreamFilter?, for key: String) {
    if filters.updateValue(filter, forKey: key) == nil { added.append(key) }
  }
}

extension ExposePath {
  /// The path a check probes through the sidecar: its HTTP URL's path, or gRPC's health
  /// method; nil when the agent exposed no port for it.
  init?(check: HealthCheck) {
    guard check.exposedPort > 0 else { return nil }
    if let url = check.http {
      let afterScheme = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
      guard afterScheme.count >= 3, let port = afterScheme[2].split(separator: ":").last.flatMap({ Int($0) }) else { return nil }
      let path = afterScheme.count == 4 ? "/" + afterScheme[3] : "/"
      self.init(path: String(path.split(separator: "?").first ?? "/"), localPathPort: port, listenerPort: check.exposedPort)
    } else if let target = check.grpc {
      guard let port = target.split(separator: "/").first?.split(separator: ":").last.flatMap({ Int($0) }) else { return nil }
      self.init(path: "/grpc.health.v1.Health/Check", localPathPort: port, listenerPort: check.exposedPort, protocol: "http2")
    } else {
      return nil
    }
  }
}
