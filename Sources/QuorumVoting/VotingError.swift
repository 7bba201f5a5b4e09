/// A failure in the voting module: bad settings, or sample rows that cannot be read or do not agree.
public struct VotingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is, so callers can match on it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        /// A sample row is not valid JSON, not an object, or a field is missing or of the wrong type.
        public static let malformedSample = Code(name: "malformedSample")
        /// Rows or responses of one problem disagree (prompt, gold answer, problem id), or there are none.
        public static let inconsistentProblem = Code(name: "inconsistentProblem")
        /// A pair-selection setting is out of range.
        public static let invalidSetting = Code(name: "invalidSetting")
        /// See ``name``.
        public var description: String { name }
    }

    /// The kind of failure.
    public let code: Code
    /// The 1-based line of the input the failure is about, when it is about one.
    public let line: Int?
    /// What went wrong and what to do about it (starting with `line N:` when ``line`` is set).
    public let message: String

    /// An error with a code, an optional line number and a message (the line is prefixed to it).
    public init(_ code: Code, line: Int? = nil, _ message: String) {
        self.code = code
        self.line = line
        self.message = line.map { "line \($0): \(message)" } ?? message
    }

    /// The message.
    public var description: String { message }
}
