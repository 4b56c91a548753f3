import Synchronization

/// One stream's inputs, merged for its loop without a task hop per input: at most one request
/// waits (its sender waits while the slot is full, so a client that sends faster than the
/// stream proceeds is held back by HTTP/2 flow control), snapshots replace each other (latest
/// wins), and the first ending is kept. The loop takes a failure first, then requests and
/// snapshots in turns, then the client's close.
final class StreamInbox<Request: Sendable, Update: Sendable>: Sendable {
  enum Item: Sendable {
    case request(Request)
    case update(Update)
    case closed
    case failed(any Error)
  }

  private struct State: Sendable {
    var request: Request?
    var update: Update?
    var ending: Item?
    var finished = false
    /// A request and a snapshot both waiting are taken in turns (a client sending without pause
    /// does not hold its own snapshots back).
    var requestWasLast = false
    /// The loop, waiting for an item; a sender, waiting for the request slot.
    var taker: CheckedContinuation<Item?, Never>?
    var sender: CheckedContinuation<Void, Never>?

    /// The next item, if any (after an ending, nothing more), and a sender to wake because the
    /// request slot came free or the stream ended.
    mutating func take() -> (Item?, CheckedContinuation<Void, Never>?) {
      let item: Item?
      if finished {
        item = nil
      } else if case .failed = ending {
        item = end()
      } else if let request, update == nil || !requestWasLast {
        self.request = nil
        item = .request(request)
      } else if let update {
        self.update = nil
        item = .update(update)
      } else {
        item = ending == nil ? nil : end()
      }
      if let item { requestWasLast = if case .request = item { true } else { false } }
      guard request == nil || finished, let sender else { return (item, nil) }
      self.sender = nil
      return (item, sender)
    }

    private mutating func end() -> Item? {
      finished = true
      defer { ending = nil }
      return ending
    }
  }

  private let state = Mutex(State())

  /// Hands a request to the loop, waiting while another one is waiting (or until the stream ends).
  func send(_ request: Request) async {
    while !Task.isCancelled {
      // nil: the slot is full, wait; .some(nil): placed (or dropped after the end); else: hand over.
      let placed: CheckedContinuation<Item?, Never>?? = state.withLock { state in
        if state.finished { return .some(nil) }
        guard state.request == nil else { return nil }
        guard let taker = state.taker else {
          state.request = request
          return .some(nil)
        }
        state.taker = nil
        return .some(taker)
      }
      if let placed {
        placed?.resume(returning: Item.request(request))
        return
      }
      await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
          let now = state.withLock { state in
            if state.finished || state.request == nil || Task.isCancelled { return true }
            state.sender = continuation
            return false
          }
          if now { continuation.resume() }
        }
      } onCancel: {
        state.withLock { state in
          defer { state.sender = nil }
          return state.sender
        }?.resume()
      }
    }
  }

  /// A new snapshot for the loop, replacing one it has not taken yet.
  func offer(_ update: Update) { deliver { $0.update = update } }

  /// The client closed its side; the loop sees it after what is waiting.
  func close() { deliver { if $0.ending == nil { $0.ending = .closed } } }

  /// The stream must end with an error, before anything still waiting; the first ending is kept.
  func fail(_ error: any Error) { deliver { if $0.ending == nil { $0.ending = .failed(error) } } }

  /// Applies `change` and hands the loop its next item if it waits.
  private func deliver(_ change: (inout State) -> Void) {
    let (taker, next, sender) = state.withLock { state -> (CheckedContinuation<Item?, Never>?, Item?, CheckedContinuation<Void, Never>?) in
      guard !state.finished else { return (nil, nil, nil) }
      change(&state)
      guard let taker = state.taker else { return (nil, nil, nil) }
      let (next, sender) = state.take()
      guard let next else { return (nil, nil, sender) }
      state.taker = nil
      return (taker, next, sender)
    }
    sender?.resume()
    if let taker, let next { taker.resume(returning: next) }
  }

  /// The next input; nil once the stream has ended (or the loop's task is cancelled).
  func next() async -> Item? {
    let (item, sender) = state.withLock { $0.take() }
    sender?.resume()
    if let item { return item }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Item?, Never>) in
        let (ready, sender): (Item??, CheckedContinuation<Void, Never>?) = state.withLock { state in
          let (item, sender) = state.take()
          if let item { return (.some(item), sender) }
          if state.finished || Task.isCancelled { return (.some(nil), sender) }
          state.taker = continuation
          return (nil, sender)
        }
        sender?.resume()
        if let ready { continuation.resume(returning: ready) }
      }
    } onCancel: {
      state.withLock { state in
        defer { state.taker = nil }
        return state.taker
      }?.resume(returning: nil)
    }
  }

  /// The loop is done: senders waiting or arriving later return at once.
  func finish() {
    let (taker, sender) = state.withLock { state in
      state.finished = true
      defer { (state.taker, state.sender) = (nil, nil) }
      return (state.taker, state.sender)
    }
    taker?.resume(returning: nil)
    sender?.resume()
  }
}
