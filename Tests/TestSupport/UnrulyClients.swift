import EnvoyAPI
public import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import ResourceCache
import SwiftProtobuf
#if canImport(Glibc)
  import Glibc
#endif

/// Clients that misbehave towards an xDS server, each on its own connection, each looping until
/// its task is cancelled: what a server must survive without its healthy proxies noticing.
public enum UnrulyClients {
  typealias ADS = Envoy_Service_Discovery_V3_AggregatedDiscoveryService
  typealias Request = Envoy_Service_Discovery_V3_DiscoveryRequest

  /// Subscribes to everything for `node`, then never reads what it is sent: the stream's HTTP/2
  /// window fills and stays full.
  public static func neverReads(port: Int, node: String) async {
    try? await withClient(port) { ads in
      try await ads.streamAggregatedResources(
        request: StreamingClientRequest { writer in
          for type in ResourceType.allCases { try await writer.write(request(node, type)) }
          try await Task.sleep(for: .seconds(3600))
        },
        onResponse: { _ in try await Task.sleep(for: .seconds(3600)) })
    }
  }

  /// Connects and writes bytes that are not HTTP/2, then hangs up; again and again.
  public static func garbage(port: Int, pause: Duration) async {
    var bytes = [UInt8](repeating: 0, count: 4096)
    while !Task.isCancelled {
      for index in bytes.indices { bytes[index] = .random(in: 0...255) }
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      address.sin_port = in_port_t(UInt16(port).bigEndian)
      let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      if connected == 0 { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
      close(fd)
      try? await Task.sleep(for: pause)
    }
  }

  /// Sends a request of `bytes` (more than the server accepts) on a new stream; again and again.
  public static func oversized(port: Int, node: String, bytes: Int, pause: Duration) async {
    let big = request(node, .cluster, names: [String(repeating: "x", count: bytes)])
    try? await withClient(port) { ads in
      while !Task.isCancelled {
        _ = try? await ads.streamAggregatedResources(
          request: StreamingClientRequest { try await $0.write(big) },
          onResponse: { response in for try await _ in response.messages {} })
        try await Task.sleep(for: pause)
      }
    }
  }

  /// Breaks the protocol's order on one stream: ACKs and NACKs of nonces never sent, requests for
  /// types nobody serves, a node id that changes, floods of the same request.
  public static func outOfOrder(port: Int, node: String, pause: Duration) async {
    try? await withClient(port) { ads in
      while !Task.isCancelled {
        _ = try? await ads.streamAggregatedResources(
          request: StreamingClientRequest { writer in
            for round in 0..<20 {
              var message = request(round % 3 == 0 ? node : "\(node)-\(round)", ResourceType.allCases[round % 5])
              message.responseNonce = "\(Int.random(in: 1...1_000_000))"
              message.versionInfo = "v\(round)"
              if round % 4 == 1 { message.errorDetail.message = "rejected by nobody" }
              if round == 19 { message.typeURL = "type.googleapis.com/not.a.Resource" }
              try await writer.write(message)
            }
          },
          onResponse: { response in for try await _ in response.messages {} })
        try await Task.sleep(for: pause)
      }
    }
  }

  /// Connects, subscribes, reads one answer (or not) and disconnects; again and again.
  public static func churn(port: Int, node: String, pause: Duration) async {
    while !Task.isCancelled {
      _ = try? await withClient(port) { ads in
        try await ads.streamAggregatedResources(
          request: StreamingClientRequest { try await $0.write(request(node, .cluster)) },
          onResponse: { response in
            for try await _ in response.messages { break }
          })
      }
      try? await Task.sleep(for: pause)
    }
  }

  static func request(_ node: String, _ type: ResourceType, names: [String] = []) -> Request {
    .with {
      $0.node.id = node
      $0.typeURL = type.typeURL
      $0.resourceNames = names
    }
  }

  static func withClient<T: Sendable>(
    _ port: Int, _ body: (ADS.Client<HTTP2ClientTransport.Posix>) async throws -> T
  ) async throws -> T {
    let transport = try HTTP2ClientTransport.Posix(
      target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
    return try await withGRPCClient(transport: transport) { client in
      try await body(ADS.Client(wrapping: client))
    }
  }
}
