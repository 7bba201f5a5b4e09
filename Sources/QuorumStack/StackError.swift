/// Why the embedded stack could not do what was asked, and what to do about it.
public struct StackError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, in a sentence that says what to do.
    public let message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
