// swift-tools-version:6.1
// Builds the protoc plugins used by scripts/generate-protos.sh from the same package versions the
// project depends on, so generated code always matches the runtime libraries.
import PackageDescription

let package = Package(
  name: "plugin-builder",
  dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
  ],
  targets: []
)
