/// Why a safetensors file could not be read or written; `description` says what is wrong and what to do.
public struct SafeTensorsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, for callers that want to branch on it.
    public enum Code: String, Sendable, Hashable {
        /// The file could not be opened, read or written.
        case io
        /// The file is shorter than its own header says.
        case truncated
        /// The 8-byte header length is impossible for this file.
        case badHeaderLength
        /// The header is not the JSON object safetensors expects.
        case badHeader
        /// A tensor's dtype is not one this reader knows.
        case unknownDType
        /// A tensor's shape, offsets or byte count do not agree, or tensors overlap or leave gaps.
        case badLayout
        /// No tensor has the requested name.
        case noSuchTensor
        /// The caller passed tensors that cannot be written (duplicate names, wrong byte counts).
        case invalidArgument
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

    /// The message, prefixed so a person knows which layer spoke.
    public var description: String { "safetensors: \(message)" }
}
