import Synchronization

/// A value several tasks update and read (the watches' latest certificates, the client's last
/// seen ACL policy).
final class Shared<Value: Sendable>: Sendable {
  let value: Mutex<Value>
  init(_ initial: Value) { value = Mutex(initial) }
}
