/// A failure the user can act on: printed as one line, exit status 1 (no usage text).
struct CommandError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
