/// An error from training, loading or saving a tokenizer, with a message a person can act on.
public struct TokenizerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is, so callers can match on it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        /// The file is not JSON, or lacks a field the BPE model needs.
        public static let malformedFile = Code(name: "malformedFile")
        /// The file asks for something this tokenizer does not implement (a normalizer, a regex…).
        public static let unsupported = Code(name: "unsupported")
        /// Vocabulary and merges disagree (a merge whose parts or result are not tokens…).
        public static let inconsistentVocabulary = Code(name: "inconsistentVocabulary")
        /// Training was asked for something impossible (a vocabulary smaller than the byte alphabet…).
        public static let invalidTrainingRequest = Code(name: "invalidTrainingRequest")
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
