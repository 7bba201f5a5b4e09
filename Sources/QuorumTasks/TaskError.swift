/// An error from generating, reading or writing problems, with a message a person can act on.
public struct TaskError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is, so callers can match on it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        /// A JSONL line is not a problem object.
        public static let malformedJSONL = Code(name: "malformedJSONL")
        /// Generator settings that cannot work (min steps above max steps…).
        public static let invalidConfiguration = Code(name: "invalidConfiguration")
        /// The generator could not find enough distinct problems for the split.
        public static let exhausted = Code(name: "exhausted")
        /// See ``name``.
        public var description: String { name }
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong and what to do about it.
    public let message: String

    /// An error with a code and a message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
