import ConsulCatalog
import Foundation

// Benchmarks (figures, not pass/fail): run with `swift run -c release lambda-xds-bench`.

/// Builds a catalog snapshot of `count` Lambda services, each with a sidecar caller, the way the
/// catalog file and the Consul watcher do, and reports the time per build.
func catalogBuild(services count: Int) {
  var registrations: [JSONValue] = []
  var entries: [JSONValue] = []
  for index in 0..<count {
    let name = "fn-\(index)"
    registrations.append(.object([
      "Node": .string("lambdas"),
      "Service": .object(["ID": .string(name), "Service": .string(name)]),
    ]))
    entries.append(.object([
      "Kind": .string("service-defaults"), "Name": .string(name), "Protocol": .string("http"),
      "EnvoyExtensions": .array([.object([
        "Name": .string("builtin/aws/lambda"),
        "Arguments": .object(["ARN": .string("arn:aws:lambda:us-east-1:123456789012:function:\(name)")]),
      ])]),
    ]))
  }
  var best = Double.infinity
  var snapshot: CatalogSnapshot?
  for _ in 0..<5 {
    let start = ContinuousClock.now
    snapshot = CatalogSnapshot(datacenter: "dc1", registrations: registrations, configEntries: entries)
    let elapsed = ContinuousClock.now - start
    best = min(best, Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
  }
  let valid = snapshot!.lambdas.values.filter(\.isValid).count
  print(String(format: "catalog snapshot, %d Lambda services: best of 5 = %.1f ms (%d valid)", count, best * 1000, valid))
}

catalogBuild(services: 10_000)
