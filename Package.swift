// swift-tools-version:6.1
import PackageDescription

/// Every module is built equally strict (the pattern grpc-swift-2 uses).
let strictSettings: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
  .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
  name: "lambda-xds",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "lambda-xds", targets: ["lambda-xds"]),
    // For the libFuzzer executables in Fuzz/ (built apart, with sanitizers: scripts/fuzz.sh).
    .library(name: "Fuzzing", targets: ["Fuzzing"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams.git", "5.0.1"..<"7.0.0"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
  ],
  targets: [
    // Generated from proto/ by scripts/generate-protos.sh; never edited by hand.
    .target(
      name: "EnvoyAPI",
      dependencies: [
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      ],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // The catalog side: Consul's objects, Lambda declarations, the catalog snapshot and its
    // sources. Knows Consul, not Envoy.
    .target(
      name: "ConsulCatalog",
      dependencies: [.product(name: "Yams", package: "Yams")],
      swiftSettings: strictSettings
    ),
    // Consul's HTTP API: client, blocking queries and the watches behind catalog snapshots.
    .target(
      name: "ConsulWatch",
      dependencies: [
        "ConsulCatalog",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
      ],
      swiftSettings: strictSettings
    ),
    // Versioned, encoded-once Envoy resources and per-node snapshots. Knows Envoy, not Consul.
    .target(
      name: "ResourceCache",
      dependencies: [
        "EnvoyAPI",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strictSettings
    ),
    // Catalog snapshot -> Envoy resources per proxy: pure functions, the only module that knows
    // both Consul and Envoy.
    .target(
      name: "Translation",
      dependencies: [
        "ConsulCatalog",
        "EnvoyAPI",
        "ResourceCache",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSettings
    ),
    // Mesh certificates where Consul's CA is not available: the embedded dev CA and rotation.
    .target(
      name: "MeshIdentity",
      dependencies: [
        "ConsulCatalog",
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strictSettings
    ),
    // The ADS protocol as a pure per-stream state machine, and the wire messages it reads and
    // writes. No gRPC transport, no I/O.
    .target(
      name: "ADSProtocol",
      dependencies: ["EnvoyAPI", "ResourceCache", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      swiftSettings: strictSettings
    ),
    // The gRPC service and server around the protocol: streams, authorization, status.
    .target(
      name: "ADSServer",
      dependencies: [
        "ADSProtocol",
        "EnvoyAPI",
        "ResourceCache",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
      ],
      swiftSettings: strictSettings
    ),
    // glibc's malloc_trim, which Swift's Glibc module does not export.
    .target(name: "CMemory"),
    // `serve` wired as a library (tested in-process): the pipeline from catalog source to
    // snapshot cache, stream authorization, the admin API.
    .target(
      name: "ControlPlane",
      dependencies: [
        "CMemory",
        "ADSServer",
        "ResourceCache",
        "ConsulCatalog",
        "ConsulWatch",
        "Translation",
        "MeshIdentity",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Hummingbird", package: "hummingbird"),
      ],
      swiftSettings: strictSettings
    ),
    // The command line: flags into a ServeConfiguration, and the one-shot commands.
    .executableTarget(
      name: "lambda-xds",
      dependencies: [
        "ControlPlane",
        "ADSServer",
        "ResourceCache",
        "ConsulCatalog",
        "ConsulWatch",
        "Translation",
        "MeshIdentity",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strictSettings
    ),
    // What each fuzz target does with one input; Fuzz/ wraps them for libFuzzer.
    .target(
      name: "Fuzzing",
      dependencies: [
        "ADSProtocol", "ConsulCatalog", "EnvoyAPI", "ResourceCache", "Translation",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSettings
    ),
    // Benchmarks that print figures (`swift run -c release lambda-xds-bench`).
    .executableTarget(
      name: "lambda-xds-bench",
      dependencies: ["ConsulCatalog", "ResourceCache", "Translation"],
      swiftSettings: strictSettings
    ),
    // Load generator and bare replay baseline (`lambda-xds-loadgen --help`): simulated Envoys on
    // their own HTTP/2 connections, independent of the server's own modules.
    .executableTarget(
      name: "lambda-xds-loadgen",
      dependencies: [
        "EnvoyAPI",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: strictSettings
    ),
    // Test support: runs real Envoy processes and an in-process xDS server.
    .target(
      name: "TestSupport",
      dependencies: [
        "ADSProtocol",
        "ADSServer",
        "ResourceCache",
        "EnvoyAPI",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      path: "Tests/TestSupport",
      swiftSettings: strictSettings
    ),
    .testTarget(
      name: "ConsulCatalogTests",
      dependencies: ["ConsulCatalog", "ConsulWatch", "TestSupport",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strictSettings
    ),
    .testTarget(
      name: "TranslationTests",
      dependencies: [
        "Translation", "ConsulCatalog", "ResourceCache", "EnvoyAPI", "TestSupport",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      exclude: ["Fixtures", "Golden"],
      swiftSettings: strictSettings
    ),
    .testTarget(
      name: "MeshIdentityTests",
      dependencies: [
        "MeshIdentity", "ConsulCatalog", .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ],
      swiftSettings: strictSettings
    ),
    // Real Envoys, the real lambda-xds binary and the Lambda stand-in (needs `swift build` first).
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["TestSupport"],
      swiftSettings: strictSettings
    ),
    // Every input the fuzzers keep (seeds and the crashes they found) replayed as a test.
    .testTarget(
      name: "FuzzRegressionTests",
      dependencies: ["Fuzzing"],
      exclude: ["corpus", "regressions"],
      swiftSettings: strictSettings
    ),
    // The wired server in-process: pipeline, authorization and admin API over real sockets.
    .testTarget(
      name: "ControlPlaneTests",
      dependencies: [
        "ControlPlane", "ConsulCatalog", "ResourceCache", "Translation", "TestSupport", "ADSServer",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdTesting", package: "hummingbird"),
      ],
      swiftSettings: strictSettings
    ),
    .testTarget(
      name: "ResourceCacheTests",
      dependencies: [
        "ResourceCache", "EnvoyAPI", "TestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSettings
    ),
    .testTarget(
      name: "ADSProtocolTests",
      dependencies: [
        "ADSProtocol", "ResourceCache", "EnvoyAPI", "TestSupport",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSettings
    ),
    .testTarget(
      name: "EnvoyIntegrationTests",
      dependencies: [
        "ADSProtocol",
        "ADSServer", "ResourceCache", "EnvoyAPI", "TestSupport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strictSettings
    ),
  ]
)
