import Foundation
import ResourceCache
import Testing

@testable import Translation

/// Parts add straight into the proxy's tables; a part that fails is taken out again.
@Suite("Proxy builder")
struct ProxyBuilderTests {
  struct Broken: Error {}

  static func resource(_ name: String, _ content: String = "1") -> EncodedResource {
    EncodedResource(type: .cluster, name: name, bytes: Data("\(name)\(content)".utf8))
  }

  @Test("a failed part leaves out what it added (nested parts too), keeps its findings and what came before")
  func failedPartRollsBack() {
    var builder = ProxyBuilder()
    builder.add(Self.resource("kept"))
    builder.sign("arn:kept")
    let outer: Int? = builder.capture("svc") { part in
      part.add(Self.resource("inner-ok"))
      _ = part.capture("svc") { inner -> Int? in
        inner.add(Self.resource("inner-ok-2"))
        return 1
      }
      let failed: Int? = part.capture("svc") { inner in
        inner.add(Self.resource("inner-broken"))
        inner.sign("arn:inner-broken")
        inner.warn("svc", "said before failing")
        throw Broken()
      }
      #expect(failed == nil)
      #expect(part.resources[ResourceKey(.cluster, "inner-broken")] == nil)
      part.add(Self.resource("kept"))  // already there: not the part's to take out
      part.sign("arn:outer")
      throw Broken()
    }
    #expect(outer == nil)
    #expect(builder.resources.keys.map(\.name).sorted() == ["kept"])
    #expect(builder.signs == ["arn:kept"])
    #expect(builder.findings.contains(.warning("svc", "said before failing")))
    #expect(builder.findings.filter { $0.message.hasPrefix("left out") }.count == 2)
    // After the failed parts, adding and signing work as before.
    let value = builder.capture("svc") { part -> Int? in
      part.add(Self.resource("later"))
      part.sign("arn:later")
      return 7
    }
    #expect(value == 7)
    #expect(builder.resources.keys.map(\.name).sorted() == ["kept", "later"])
    #expect(builder.signs == ["arn:kept", "arn:later"])
  }

  @Test("two different resources under one name: the first is kept, with a finding")
  func duplicateName() {
    var builder = ProxyBuilder()
    builder.add(Self.resource("a", "1"))
    _ = builder.capture("svc") { part -> Int? in
      part.add(Self.resource("a", "2"))
      return nil
    }
    #expect(builder.resources[ResourceKey(.cluster, "a")]?.version == Self.resource("a", "1").version)
    #expect(builder.findings.count == 1)
  }
}
