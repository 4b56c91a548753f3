// swift-tools-version:6.1
import PackageDescription

// libFuzzer executables around the fuzz targets of the main package (Sources/Fuzzing). Built only
// by scripts/fuzz.sh, with `-sanitize=fuzzer,address -parse-as-library`.
let package = Package(
  name: "lambda-xds-fuzz",
  platforms: [.macOS(.v15)],
  dependencies: [.package(path: "lambda-xds")],  // a link to the main package, so its identity is the same wherever it is cloned
  targets: [
    // Declares libFuzzer's driver, which the executables call from their entry point.
    .target(name: "CFuzzDriver"),
    .executableTarget(name: "fuzz-catalog-file", dependencies: ["CFuzzDriver", .product(name: "Fuzzing", package: "lambda-xds")]),
    .executableTarget(name: "fuzz-consul-answers", dependencies: ["CFuzzDriver", .product(name: "Fuzzing", package: "lambda-xds")]),
    .executableTarget(name: "fuzz-lambda-declarations", dependencies: ["CFuzzDriver", .product(name: "Fuzzing", package: "lambda-xds")]),
    .executableTarget(name: "fuzz-xds-requests", dependencies: ["CFuzzDriver", .product(name: "Fuzzing", package: "lambda-xds")]),
  ]
)
