/// An error reading, writing or quantizing GGUF data, with a message a person can act on.
public struct GGUFError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong and, where it helps, what to do.
    public var description: String

    /// Makes an error with this message.
    public init(_ description: String) { self.description = description }
}
