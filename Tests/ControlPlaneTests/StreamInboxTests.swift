import Synchronization
import Testing

@testable import ADSServer

/// A stream's inbox: one request at a time, the newest snapshot, the first ending.
@Suite("Stream inbox")
struct StreamInboxTests {
  typealias Inbox = StreamInbox<Int, String>

  struct Broken: Error {}

  final class Flag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
  }

  static func describe(_ item: Inbox.Item?) -> String {
    switch item {
    case .request(let value)?: "request \(value)"
    case .update(let value)?: "update \(value)"
    case .closed?: "closed"
    case .failed?: "failed"
    case nil: "end"
    }
  }

  @Test("a failure comes first, then the request, then the newest snapshot, then the close; then nothing")
  func order() async {
    let inbox = Inbox()
    inbox.offer("a")
    inbox.offer("b")
    await inbox.send(1)
    inbox.close()
    #expect(Self.describe(await inbox.next()) == "request 1")
    #expect(Self.describe(await inbox.next()) == "update b")
    #expect(Self.describe(await inbox.next()) == "closed")
    inbox.offer("c")
    #expect(Self.describe(await inbox.next()) == "end")

    // Requests and snapshots both waiting are taken in turns.
    let busy = Inbox()
    await busy.send(1)
    busy.offer("a")
    #expect(Self.describe(await busy.next()) == "request 1")
    await busy.send(2)
    busy.offer("b")
    #expect(Self.describe(await busy.next()) == "update b")
    #expect(Self.describe(await busy.next()) == "request 2")

    let failing = Inbox()
    await failing.send(2)
    failing.offer("a")
    failing.fail(Broken())
    failing.close()
    #expect(Self.describe(await failing.next()) == "failed")
    #expect(Self.describe(await failing.next()) == "end")
  }

  @Test("a second request waits until the first is taken; the loop waits for an input")
  func backpressure() async {
    let inbox = Inbox()
    await inbox.send(1)
    let sent = Flag()
    let sender = Task {
      await inbox.send(2)
      sent.set()
    }
    for _ in 0..<1_000 { await Task.yield() }
    #expect(!sent.isSet, "the slot was full")
    #expect(Self.describe(await inbox.next()) == "request 1")
    await sender.value
    #expect(Self.describe(await inbox.next()) == "request 2")
    // The loop waits; an input given meanwhile wakes it.
    let taker = Task { Self.describe(await inbox.next()) }
    for _ in 0..<100 { await Task.yield() }
    inbox.offer("x")
    #expect(await taker.value == "update x")
  }

  @Test("finishing releases a waiting sender; cancelling the loop's wait ends it")
  func finishAndCancel() async {
    let inbox = Inbox()
    await inbox.send(1)
    let sender = Task { await inbox.send(2) }
    for _ in 0..<100 { await Task.yield() }
    inbox.finish()
    await sender.value
    #expect(Self.describe(await inbox.next()) == "end")

    let idle = Inbox()
    let taker = Task { Self.describe(await idle.next()) }
    for _ in 0..<100 { await Task.yield() }
    taker.cancel()
    #expect(await taker.value == "end")
  }
}
