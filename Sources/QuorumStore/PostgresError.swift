internal import CLibPQ
import Foundation

/// An error from PostgreSQL or from talking to it, with the server's SQLSTATE.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// A SQLSTATE code (`23505` unique violation, `08006` connection failure, …).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The five-character SQLSTATE.
        public let sqlState: String

        /// Wraps a SQLSTATE.
        public init(_ sqlState: String) { self.sqlState = sqlState }

        public var description: String { sqlState }

        /// `23505`: a unique constraint was violated.
        public static let uniqueViolation = Code("23505")
        /// `23503`: a foreign key was violated.
        public static let foreignKeyViolation = Code("23503")
        /// `42P01`: the table does not exist.
        public static let undefinedTable = Code("42P01")
        /// `42601`: the SQL has a syntax error.
        public static let syntaxError = Code("42601")
        /// `40001`: a serializable transaction conflicted; retry it.
        public static let serializationFailure = Code("40001")
        /// `57P01`: the server is shutting down or the session was terminated by an administrator.
        public static let adminShutdown = Code("57P01")
        /// `08006`: the connection broke, or could not be made.
        public static let connectionFailure = Code("08006")
        /// `22P02`: a value does not have the column's type (client side: a result could not be decoded).
        public static let invalidTextRepresentation = Code("22P02")
        /// `XX000`: anything else.
        public static let internalError = Code("XX000")

        /// Whether the error means the connection is gone (the next call reconnects).
        public var isConnectionLoss: Bool { sqlState.hasPrefix("08") || self == .adminShutdown }

        /// Whether the same statement may well succeed if tried again: a lost connection, a
        /// serialization failure or deadlock (class 40), a cancelled statement (statement timeout),
        /// a lock not available, too many connections, or a server starting up or shutting down.
        public var isTransient: Bool {
            isConnectionLoss || sqlState.hasPrefix("40")
                || ["57014", "55P03", "53300", "57P02", "57P03"].contains(sqlState)
        }
    }

    /// The SQLSTATE.
    public let code: Code
    /// The primary message.
    public let message: String
    /// The server's detail line, if any.
    public let detail: String?
    /// The server's hint, if any.
    public let hint: String?
    /// The statement that failed, if known.
    public let query: String?

    /// Creates an error.
    public init(code: Code, message: String, detail: String? = nil, hint: String? = nil, query: String? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.query = query
    }

    /// Reads an error out of a failed result.
    init(result: OpaquePointer?, connection: OpaquePointer?, query: String?) {
        func field(_ code: Character) -> String? {
            guard let result, let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let state = field("C") ?? Code.connectionFailure.sqlState
        let message =
            field("M") ?? connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "unknown error"
        self.init(
            code: Code(state), message: message.trimmingCharacters(in: .whitespacesAndNewlines), detail: field("D"),
            hint: field("H"), query: query)
    }

    public var description: String {
        var text = "PostgreSQL error \(code): \(message)"
        if let detail { text += "\n  detail: \(detail)" }
        if let hint { text += "\n  hint: \(hint)" }
        if let query { text += "\n  query: \(query.prefix(300))" }
        return text
    }
}
