import Foundation

/// A SQL statement whose interpolated values become bound parameters (`$1`, `$2`, …), never text
/// spliced into the SQL.
///
/// ```swift
/// let rows = try connection.query("SELECT name FROM rounds WHERE pipeline = \(name) AND number > \(round)")
/// ```
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation {
    /// The SQL with `$n` placeholders.
    public private(set) var sql: String
    /// The parameters, in placeholder order.
    public private(set) var bindings: [PostgresValue]

    /// A statement with explicit parameters.
    public init(unsafeSQL sql: String, bindings: [PostgresValue] = []) {
        self.sql = sql
        self.bindings = bindings
    }

    public init(stringLiteral value: String) { self.init(unsafeSQL: value) }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, bindings: stringInterpolation.bindings)
    }

    /// Builds the SQL and the parameter list.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var bindings: [PostgresValue] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + 3 * interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) { sql += literal }

        /// Binds a value as the next parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            bindings.append(value.postgresValue)
            sql += "$\(bindings.count)"
        }

        /// Binds an optional value: `nil` becomes SQL NULL.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            bindings.append(value?.postgresValue ?? .null)
            sql += "$\(bindings.count)"
        }

        /// Inserts a quoted identifier (a table or column name), escaped so it cannot end the quote.
        public mutating func appendInterpolation(identifier: String) { sql += quoteIdentifier(identifier) }
    }
}

/// Quotes an SQL identifier: `my "table"` → `"my ""table"""`.
public func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
