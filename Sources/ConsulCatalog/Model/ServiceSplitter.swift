/// A `service-splitter` entry: requests for the service split by weight between services (a
/// canary between two Lambda versions, each its own service, is Consul's way).
public struct ServiceSplitter: Sendable, Equatable {
  public struct Split: Sendable, Equatable {
    /// The target service (the splitter's own name when the entry leaves it out).
    public var service: String
    /// Hundredths of a percent, as Consul turns `Weight` into Envoy's integer weights.
    public var weight: Int
    /// Set when the split names a resolver subset, which lambda-xds does not follow.
    public var subset: String?
  }

  public var name: String
  public var splits: [Split]
  /// Why the entry cannot be followed (weights that do not add up to 100); nil when it can.
  public var problem: String?

  init(_ body: JSONValue, name: String) {
    self.name = name
    splits = (body["Splits"]?.array ?? []).map { split in
      // Out of range (or not a number) becomes -1, which the check below reports.
      let percent = split["Weight"]?.double.flatMap { (0...100).contains($0) ? $0 : nil } ?? -0.01
      let service = split["Service"]?.string ?? ""
      let subset = split["ServiceSubset"]?.string ?? ""
      return Split(
        service: service.isEmpty ? name : service, weight: Int((percent * 100).rounded()),
        subset: subset.isEmpty ? nil : subset)
    }
    let total = splits.reduce(0) { $0 + $1.weight }
    if splits.isEmpty {
      problem = "service-splitter \(name) has no Splits"
    } else if splits.contains(where: { $0.weight < 0 }) {
      problem = "service-splitter \(name): every Weight must be a number from 0 to 100"
    } else if total != 10_000 {
      problem = "service-splitter \(name): the weights add up to \(Double(total) / 100), not 100"
    }
  }
}
