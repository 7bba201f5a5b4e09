/// Why a NeuZip operation failed; `description` says what is wrong and what to do.
public struct NeuZipError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, for callers that want to branch on it.
    public enum Code: String, Sendable, Hashable {
        /// Reading or writing a file failed.
        case io
        /// The input is not a `.nzck` file (wrong magic) or is from an unknown version.
        case notACheckpoint
        /// The file ends before its structure says it should.
        case truncated
        /// A checksum, length or field disagrees with the data: the file is damaged or forged.
        case corrupt
        /// The caller asked for something the codec cannot do (bad k, bad block size, duplicate name…).
        case invalidArgument
        /// No tensor has the requested name.
        case noSuchTensor
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong and, where it helps, what to do.
    public var message: String

    /// An error of `code` with a human-readable `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A "damaged file" error with a standard hint.
    static func corrupt(_ what: String) -> NeuZipError {
        NeuZipError(.corrupt, "\(what); the checkpoint is damaged — fetch or re-create it")
    }

    /// The message, prefixed so a person knows which layer spoke.
    public var description: String { "nzck: \(message)" }
}
