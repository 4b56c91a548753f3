import Foundation

extension CatalogFile {
  /// Where a JSON catalog file's registrations and config entries lie (byte offsets from the
  /// start of its text), in file order, so that an edit inside one object is found by comparing
  /// the old and new text (a `memcmp` from each end) without delimiting or hashing the others.
  struct Layout: Sendable {
    var registrations: [Range<Int>]
    var entries: [Range<Int>]

    enum List { case registrations, entries }

    /// The offsets of bodies that are all texts of `data`; nil when any is a value (YAML).
    init?(registrations: [Body], entries: [Body], in data: Data) {
      func spans(_ bodies: [Body]) -> [Range<Int>]? {
        var spans: [Range<Int>] = []
        spans.reserveCapacity(bodies.count)
        for body in bodies {
          guard case .text(let text) = body.content else { return nil }
          spans.append(text.startIndex - data.startIndex..<text.endIndex - data.startIndex)
        }
        return spans
      }
      guard let registrations = spans(registrations), let entries = spans(entries) else { return nil }
      self.registrations = registrations
      self.entries = entries
    }

    /// What differs between two versions of the text, when it is confined to one object.
    enum Edit {
      /// The same bytes.
      case none
      /// Object `index` of `list` now spans `span` of the new text; everything else is the same.
      case one(List, index: Int, span: Range<Int>)
    }

    /// The edit from `old` to `new`, or nil when it reaches past one object (or between two).
    func edit(from old: Data, to new: Data) -> Edit? {
      let (prefix, suffix) = Self.commonEnds(old, new)
      if prefix == old.count && prefix == new.count { return Edit.none }
      // The old text is prefix + changed + suffix; an object holding all of `changed` is the edit.
      let changed = prefix..<old.count - suffix
      for (list, spans) in [(List.registrations, registrations), (.entries, entries)] {
        guard let index = Self.lastStarting(atOrBefore: changed.lowerBound, in: spans) else { continue }
        let span = spans[index]
        guard changed.upperBound <= span.upperBound else { continue }
        return .one(list, index: index, span: span.lowerBound..<span.upperBound + new.count - old.count)
      }
      return nil
    }

    /// Records that object `index` of `list` now spans `span` (the ones after it move with it).
    mutating func replace(_ list: List, index: Int, with span: Range<Int>) {
      let old = list == .registrations ? registrations[index] : entries[index]
      let delta = span.count - old.count
      func shift(_ spans: inout [Range<Int>]) {
        guard delta != 0 else { return }
        for i in spans.indices where spans[i].lowerBound >= old.upperBound {
          spans[i] = spans[i].lowerBound + delta..<spans[i].upperBound + delta
        }
      }
      shift(&registrations)
      shift(&entries)
      switch list {
      case .registrations: registrations[index] = span
      case .entries: entries[index] = span
      }
    }

    /// The index of the last span starting at or before `offset` (spans are in file order).
    private static func lastStarting(atOrBefore offset: Int, in spans: [Range<Int>]) -> Int? {
      var low = 0
      var high = spans.count
      while low < high {
        let middle = (low + high) / 2
        if spans[middle].lowerBound <= offset { low = middle + 1 } else { high = middle }
      }
      return low == 0 ? nil : low - 1
    }

    /// How many bytes the two texts share at the start and, after that, at the end.
    static func commonEnds(_ old: Data, _ new: Data) -> (prefix: Int, suffix: Int) {
      old.withUnsafeBytes { a in
        new.withUnsafeBytes { b in
          let limit = min(a.count, b.count)
          let block = 4096
          var prefix = 0
          while prefix + block <= limit, memcmp(a.baseAddress! + prefix, b.baseAddress! + prefix, block) == 0 { prefix += block }
          while prefix < limit, a[prefix] == b[prefix] { prefix += 1 }
          var suffix = 0
          let room = limit - prefix
          while suffix + block <= room,
            memcmp(a.baseAddress! + a.count - suffix - block, b.baseAddress! + b.count - suffix - block, block) == 0
          {
            suffix += block
          }
          while suffix < room, a[a.count - suffix - 1] == b[b.count - suffix - 1] { suffix += 1 }
          return (prefix, suffix)
        }
      }
    }
  }
}
