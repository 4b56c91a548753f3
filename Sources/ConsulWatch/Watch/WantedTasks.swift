/// Keeps one task per wanted key: started when the key appears in `wanted`, cancelled when it
/// leaves. Both watchers follow a changing set this way (services, services needing a leaf).
/// - Parameters:
///   - onChange: called after each new set was applied, with the keys added and removed.
///   - run: the task for one key; cancelled when the key is no longer wanted.
func forEachWanted(
  _ wanted: AsyncStream<Set<String>>,
  onChange: (_ added: Set<String>, _ removed: Set<String>) -> Void = { _, _ in },
  run: @escaping @Sendable (String) async -> Void
) async {
  await withTaskGroup(of: Void.self) { group in
    var stops: [String: AsyncStream<Void>.Continuation] = [:]
    var current = Set<String>()
    for await keys in wanted {
      let added = keys.subtracting(current)
      let removed = current.subtracting(keys)
      for key in added {
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        stops[key] = stop
        group.addTask {
          await withTaskGroup(of: Void.self) { one in
            one.addTask { await run(key) }
            one.addTask { for await _ in stopped {} }
            _ = await one.next()
            one.cancelAll()
          }
        }
      }
      for key in removed { stops.removeValue(forKey: key)?.finish() }
      current = keys
      onChange(added, removed)
    }
    group.cancelAll()
  }
}
