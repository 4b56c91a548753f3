public import ADSServer
import ConsulCatalog
public import ConsulWatch
import Foundation
import Synchronization

/// Consul's rule for xDS streams: the token must grant `service:write` on the service the proxy
/// acts for. Asked of Consul itself through the agent's leaf-certificate endpoint, which demands
/// exactly that permission. Decisions are cached briefly; any doubt denies.
public final class ConsulTokenAuthorizer: StreamAuthorizer {
  let client: ConsulClient
  let pipeline: ConfigurationPipeline
  private let cache = Mutex<[String: (allowed: Bool, at: ContinuousClock.Instant)]>([:])
  /// How long a decision is reused, and how many are kept (clients choose the tokens they send).
  static let cacheTTL = Duration.seconds(30)
  static let cacheLimit = 10_000

  public init(client: ConsulClient, pipeline: ConfigurationPipeline) {
    self.client = client
    self.pipeline = pipeline
  }

  public func denial(nodeID: String, credentials: StreamCredentials) async -> String? {
    guard let token = credentials.token, !token.isEmpty else { return "no x-consul-token in the stream's metadata" }
    guard let service = pipeline.identity(ofProxy: nodeID) else { return "no proxy \(nodeID) in the catalog" }
    let key = "\(service)\u{0}\(token)"
    if let cached = cache.withLock({ $0[key] }), ContinuousClock.now - cached.at < Self.cacheTTL {
      return cached.allowed ? nil : "the token lacks service:write on \(service)"
    }
    do {
      _ = try await client.get("/v1/agent/connect/ca/leaf/\(service)", token: token)
      remember(key, allowed: true)
      return nil
    } catch where error.code == .forbidden {
      remember(key, allowed: false)
      return "the token lacks service:write on \(service)"
    } catch {
      return "cannot check the token with Consul: \(error)"
    }
  }
}

extension ConsulTokenAuthorizer {
  /// Keeps a decision; when full, expired ones go first, and if none has expired, all go.
  private func remember(_ key: String, allowed: Bool) {
    cache.withLock { cache in
      if cache.count >= Self.cacheLimit {
        let now = ContinuousClock.now
        cache = cache.filter { now - $0.value.at < Self.cacheTTL }
        if cache.count >= Self.cacheLimit { cache.removeAll() }
      }
      cache[key] = (allowed, .now)
    }
  }
}

/// Catalog-file mode: a JSON file maps each token to the services it may act for
/// (`{"<token>": ["api", "terminating-gateway"]}`; `"*"` means every service). Read on every
/// check, so an edit (or a revoked token) takes effect at the next check.
public struct FileTokenAuthorizer: StreamAuthorizer {
  let path: String
  let pipeline: ConfigurationPipeline

  public init(path: String, pipeline: ConfigurationPipeline) {
    self.path = path
    self.pipeline = pipeline
  }

  public func denial(nodeID: String, credentials: StreamCredentials) async -> String? {
    guard let token = credentials.token, !token.isEmpty else { return "no x-consul-token in the stream's metadata" }
    guard let service = pipeline.identity(ofProxy: nodeID) else { return "no proxy \(nodeID) in the catalog" }
    guard let data = FileManager.default.contents(atPath: path),
      let tokens = try? JSONDecoder().decode([String: [String]].self, from: data)
    else { return "the token file \(path) cannot be read as {\"<token>\": [\"<service>\", ...]}" }
    guard let services = tokens[token] else { return "unknown token" }
    return services.contains(service) || services.contains("*") ? nil : "the token may not act for \(service)"
  }
}

/// With mutual TLS: the client certificate's SPIFFE service must be the service the node id's
/// proxy acts for, so one proxy's certificate cannot fetch another's configuration and keys.
/// Then the token check, if any.
public struct CertificateBindingAuthorizer: StreamAuthorizer {
  let pipeline: ConfigurationPipeline
  let next: (any StreamAuthorizer)?

  public init(pipeline: ConfigurationPipeline, next: (any StreamAuthorizer)?) {
    self.pipeline = pipeline
    self.next = next
  }

  public func denial(nodeID: String, credentials: StreamCredentials) async -> String? {
    guard credentials.hasClientCertificate else { return "no client certificate" }
    guard let service = pipeline.identity(ofProxy: nodeID) else { return "no proxy \(nodeID) in the catalog" }
    let names = credentials.certificateURIs.compactMap { SPIFFEID(uri: $0)?.service }
    guard names.contains(service) else {
      return names.isEmpty
        ? "the client certificate carries no SPIFFE service identity"
        : "the client certificate is for \(names.joined(separator: ", ")), not \(service)"
    }
    return await next?.denial(nodeID: nodeID, credentials: credentials)
  }
}
