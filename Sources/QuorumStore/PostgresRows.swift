/// The rows a query returned, in text format.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// The column names, in order.
    public let columns: [String]
    /// Rows affected, for INSERT/UPDATE/DELETE/COPY (0 otherwise).
    public let affectedRows: Int
    let cells: [[String?]]
    let columnIndex: [String: Int]

    init(columns: [String], cells: [[String?]], affectedRows: Int) {
        self.columns = columns
        self.cells = cells
        self.affectedRows = affectedRows
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() where index[name] == nil { index[name] = position }
        self.columnIndex = index
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { cells.count }
    public subscript(position: Int) -> PostgresRow { PostgresRow(rows: self, index: position) }
}

/// One row of a result.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    /// Whether the column at `column` is NULL.
    public func isNull(_ column: Int) -> Bool { rows.cells[index][column] == nil }

    /// Decodes the column at position `column`. Throws on NULL or a value of another type.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at column: Int) throws(PostgresError) -> T {
        guard column >= 0, column < rows.columns.count else {
            throw PostgresError(
                code: .internalError, message: "column \(column) is out of range (\(rows.columns.count) columns)")
        }
        guard let text = rows.cells[index][column] else {
            throw PostgresError(
                code: .invalidTextRepresentation, message: "column \(rows.columns[column]) is NULL; decode an Optional")
        }
        return try T(postgresText: text)
    }

    /// Decodes the column at position `column`, with NULL as `nil`.
    public func decode<T: PostgresDecodable>(_ type: T?.Type, at column: Int) throws(PostgresError) -> T? {
        guard column >= 0, column < rows.columns.count else {
            throw PostgresError(
                code: .internalError, message: "column \(column) is out of range (\(rows.columns.count) columns)")
        }
        return try rows.cells[index][column].map { (text) throws(PostgresError) in try T(postgresText: text) }
    }

    /// Decodes the column named `name`. Throws on NULL, a missing column or a value of another type.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ name: String) throws(PostgresError) -> T {
        try decode(type, at: position(of: name))
    }

    /// Decodes the column named `name`, with NULL as `nil`.
    public func decode<T: PostgresDecodable>(_ type: T?.Type, _ name: String) throws(PostgresError) -> T? {
        try decode(type, at: position(of: name))
    }

    private func position(of name: String) throws(PostgresError) -> Int {
        guard let position = rows.columnIndex[name] else {
            throw PostgresError(
                code: .internalError,
                message: "no column \"\(name)\" in the result (columns: \(rows.columns.joined(separator: ", ")))")
        }
        return position
    }
}
