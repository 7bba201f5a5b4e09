internal import CLibPQ
import Foundation

/// One PostgreSQL session over libpq. Every call blocks until the server answers.
///
/// - Important: not thread-safe; use it from one thread at a time. ``PostgresClient`` owns one on a
///   dedicated thread and is what async code uses.
public final class PostgresConnection {
    /// The URL it connects to (`postgres://user@host:port/db`, or a libpq `key=value` string).
    public let url: String
    private var connection: OpaquePointer?
    /// How many times the session was re-established after losing the server.
    public private(set) var reconnects = 0

    /// Connects, or throws a ``PostgresError`` with code `08006` saying why not.
    public init(url: String) throws(PostgresError) {
        self.url = url
        try connect()
    }

    deinit { if let connection { PQfinish(connection) } }

    private func connect() throws(PostgresError) {
        if let connection { PQfinish(connection) }
        connection = PQconnectdb(url)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let reason = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "out of memory"
            throw PostgresError(
                code: .connectionFailure,
                message: "cannot connect to PostgreSQL at \(redacted(url)): "
                    + reason.trimmingCharacters(in: .whitespacesAndNewlines),
                hint: "Is the server running? For the embedded stack run `quorum stack up`; "
                    + "otherwise check QUORUM_POSTGRES_URL or --postgres-url.")
        }
        // Keep server notices (e.g. "relation already exists, skipping") off standard error.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    /// Whether the session is usable (false after the server went away).
    public var isConnected: Bool { connection.map { PQstatus($0) == CONNECTION_OK } ?? false }

    /// Re-establishes a broken session, retrying with exponential back-off (0.1 s doubling to 2 s)
    /// until `deadline` seconds have passed. A healthy session is left alone.
    public func ensureConnected(deadline seconds: Double = 30) throws(PostgresError) {
        if isConnected { return }
        let deadline = Date().addingTimeInterval(seconds)
        var delay = 0.1
        while true {
            do throws(PostgresError) {
                try connect()
                reconnects += 1
                return
            } catch {
                if Date().addingTimeInterval(delay) > deadline { throw error }
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 2)
            }
        }
    }

    /// Runs one parameterised statement and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) throws(PostgresError) -> PostgresRows {
        let connection = try liveConnection()
        let count = query.bindings.count
        var types = [Oid](repeating: 0, count: count)
        var lengths = [Int32](repeating: 0, count: count)
        var formats = [Int32](repeating: 0, count: count)
        // Parameter buffers must outlive PQexecParams: keep them in one array of byte arrays.
        var buffers = [[UInt8]?](repeating: nil, count: count)
        for (index, binding) in query.bindings.enumerated() {
            switch binding {
            case .text(let text, let oid):
                types[index] = oid
                buffers[index] = Array(text.utf8) + [0]
            case .bytes(let bytes):
                types[index] = 17
                formats[index] = 1
                lengths[index] = Int32(bytes.count)
                buffers[index] = bytes.isEmpty ? [0] : bytes
            case .null:
                break
            }
        }
        let result = withParameterPointers(buffers) { values in
            PQexecParams(connection, query.sql, Int32(count), types, values, lengths, formats, 0)
        }
        return try consume(result, query: query.sql)
    }

    /// Runs a statement and returns how many rows it changed.
    @discardableResult
    public func execute(_ query: PostgresQuery) throws(PostgresError) -> Int {
        try self.query(query).affectedRows
    }

    /// Runs SQL text that may hold several statements (a migration file). No parameters.
    public func executeScript(_ sql: String) throws(PostgresError) {
        let connection = try liveConnection()
        // PQexec runs the statements in one implicit transaction and returns the last result;
        // a failing statement stops the script there.
        _ = try consume(PQexec(connection, sql), query: sql)
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    @discardableResult
    public func withTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try query("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            if isConnected { _ = try? query("ROLLBACK") }
            throw error
        }
        try query("COMMIT")
        return value
    }

    /// Loads rows into `table` with `COPY … FROM STDIN` (text format): the fastest bulk insert.
    /// Returns the number of rows copied.
    @discardableResult
    public func copy(into table: String, columns: [String], rows: [[PostgresValue]]) throws(PostgresError) -> Int {
        let connection = try liveConnection()
        let sql =
            "COPY \(quoteIdentifierPath(table)) (\(columns.map(quoteIdentifier).joined(separator: ", "))) FROM STDIN"
        let started = PQexec(connection, sql)
        guard PQresultStatus(started) == PGRES_COPY_IN else {
            _ = try consume(started, query: sql)
            throw PostgresError(code: .internalError, message: "COPY did not start", query: sql)
        }
        PQclear(started)
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 16)
        func flush() throws(PostgresError) {
            guard !buffer.isEmpty else { return }
            let sent = buffer.withUnsafeBufferPointer { pointer in
                pointer.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
            }
            buffer.removeAll(keepingCapacity: true)
            if sent != 1 { throw PostgresError(result: nil, connection: connection, query: sql) }
        }
        for row in rows {
            guard row.count == columns.count else {
                PQputCopyEnd(connection, "row has the wrong number of values")
                _ = try? drainResults(query: sql)
                throw PostgresError(
                    code: .internalError, message: "COPY row has \(row.count) values for \(columns.count) columns",
                    query: sql)
            }
            CopyText.append(row, to: &buffer)
            if buffer.count >= 1 << 16 { try flush() }
        }
        try flush()
        guard PQputCopyEnd(connection, nil) == 1 else {
            throw PostgresError(result: nil, connection: connection, query: sql)
        }
        return try drainResults(query: sql)
    }

    // MARK: - Internals

    private func liveConnection() throws(PostgresError) -> OpaquePointer {
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            throw PostgresError(
                code: .connectionFailure, message: "the connection to PostgreSQL is closed",
                hint: "call ensureConnected() (PostgresClient does this on each call)")
        }
        return connection
    }

    /// Turns a result into rows, or into an error; frees it either way.
    private func consume(_ result: OpaquePointer?, query: String) throws(PostgresError) -> PostgresRows {
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return Self.rows(of: result!)
        default:
            throw PostgresError(result: result, connection: connection, query: query)
        }
    }

    /// After COPY: reads the final result(s); returns rows copied.
    private func drainResults(query: String) throws(PostgresError) -> Int {
        var affected = 0
        var failure: PostgresError?
        while let result = PQgetResult(connection) {
            if PQresultStatus(result) == PGRES_COMMAND_OK {
                affected = Int(String(cString: PQcmdTuples(result))) ?? 0
            } else if failure == nil {
                failure = PostgresError(result: result, connection: connection, query: query)
            }
            PQclear(result)
        }
        if let failure { throw failure }
        return affected
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var cells: [[String?]] = []
        cells.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            cells.append(
                (0..<columnCount).map { column in
                    PQgetisnull(result, Int32(row), Int32(column)) == 1
                        ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
                })
        }
        return PostgresRows(
            columns: columns, cells: cells, affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
    }
}

/// Calls `body` with C pointers to each buffer (NULL for a missing one), valid during the call.
private func withParameterPointers<R>(_ buffers: [[UInt8]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafePointer<CChar>?] = []
    pointers.reserveCapacity(buffers.count)
    func recurse(_ index: Int) -> R {
        if index == buffers.count { return body(pointers) }
        guard let buffer = buffers[index] else {
            pointers.append(nil)
            return recurse(index + 1)
        }
        return buffer.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                pointers.append(chars.baseAddress)
                return recurse(index + 1)
            }
        }
    }
    return recurse(0)
}

/// Quotes `schema.table` part by part.
func quoteIdentifierPath(_ name: String) -> String {
    name.split(separator: ".").map { quoteIdentifier(String($0)) }.joined(separator: ".")
}

/// Hides the password of a URL in messages.
func redacted(_ url: String) -> String {
    guard var components = URLComponents(string: url), components.password != nil else { return url }
    components.password = "***"
    return components.string ?? url
}

/// COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
enum CopyText {
    static func append(_ row: [PostgresValue], to buffer: inout [UInt8]) {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: "\t")) }
            switch value {
            case .null:
                buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
            case .text(let text, _):
                appendEscaped(text.utf8, to: &buffer)
            case .bytes(let bytes):
                // bytea's hex input (\x…), whose backslash COPY itself needs escaped.
                buffer.append(contentsOf: Array("\\\\x".utf8))
                for byte in bytes {
                    buffer.append(hexDigits[Int(byte >> 4)])
                    buffer.append(hexDigits[Int(byte & 0xf)])
                }
            }
        }
        buffer.append(UInt8(ascii: "\n"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func appendEscaped(_ text: String.UTF8View, to buffer: inout [UInt8]) {
        for byte in text {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            default: buffer.append(byte)
            }
        }
    }
}
