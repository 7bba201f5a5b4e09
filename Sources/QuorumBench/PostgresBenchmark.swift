import QuorumStore

/// Rows/s inserting into PostgreSQL three ways, each in one transaction: one statement per row,
/// multi-row INSERT (500 rows per statement) and COPY. Writes only to a TEMP table of its own session.
public struct PostgresBenchmark: Sendable {
    /// The libpq connection URL.
    public var databaseURL: String
    /// Rows per method.
    public var rows = 20_000

    /// A benchmark against `databaseURL` with the default row count.
    public init(databaseURL: String) {
        self.databaseURL = databaseURL
    }

    /// What the benchmark measured.
    public struct Report: Encodable, Sendable {
        /// One insert method's result.
        public struct Method: Encodable, Sendable {
            /// How the rows were inserted.
            public var method: String
            /// Rows inserted.
            public var rows: Int
            /// Seconds for all of them, commit included.
            public var seconds: Double
            /// Rows per second.
            public var rowsPerSecond: Double
        }

        /// The connection URL.
        public var database: String
        /// Single-row INSERT, multi-row INSERT and COPY, in that order.
        public var methods: [Method]
        /// COPY's rows/s over single-row INSERT's.
        public var copyOverSingleRow: Double
    }

    /// Runs the three methods, each on an emptied table, and checks that COPY stored every row.
    public func run() async throws -> Report {
        guard rows > 0 else { throw BenchError("rows must be at least 1 (got \(rows))") }
        let client = PostgresClient(url: databaseURL, reconnectDeadline: 0)
        let count = rows
        let results = try await client.withConnection { connection in
            try connection.executeScript(
                "CREATE TEMP TABLE bench_rows (id bigint, problem text, weight double precision, payload bytea)")
            let payload = PostgresBytes([UInt8](repeating: 7, count: 64))
            func timed(_ name: String, _ body: () throws -> Void) throws -> Report.Method {
                try connection.executeScript("TRUNCATE bench_rows")
                let start = ContinuousClock.now
                try connection.withTransaction { _ in try body() }
                let seconds = elapsed(since: start)
                return .init(method: name, rows: count, seconds: seconds, rowsPerSecond: Double(count) / seconds)
            }
            func values(_ id: Int) -> [PostgresValue] {
                [
                    id.postgresValue, "problem-\(id)".postgresValue, (Double(id) / 7).postgresValue,
                    payload.postgresValue,
                ]
            }
            let single = try timed("single-row INSERT") {
                for id in 0..<count {
                    try connection.execute(
                        "INSERT INTO bench_rows VALUES (\(id), \("problem-\(id)"), \(Double(id) / 7), \(payload))")
                }
            }
            let batched = try timed("multi-row INSERT (500 rows per statement)") {
                for start in stride(from: 0, to: count, by: 500) {
                    var sql = "INSERT INTO bench_rows VALUES "
                    var bindings: [PostgresValue] = []
                    for id in start..<min(start + 500, count) {
                        let base = bindings.count
                        sql += (id == start ? "" : ", ") + "($\(base + 1), $\(base + 2), $\(base + 3), $\(base + 4))"
                        bindings += values(id)
                    }
                    try connection.execute(PostgresQuery(unsafeSQL: sql, bindings: bindings))
                }
            }
            let copy = try timed("COPY") {
                try connection.copy(
                    into: "bench_rows", columns: ["id", "problem", "weight", "payload"], rows: (0..<count).map(values))
            }
            let stored = try connection.query("SELECT count(*) FROM bench_rows")[0].decode(Int.self, at: 0)
            guard stored == count else { throw BenchError("COPY stored \(stored) rows, expected \(count)") }
            return [single, batched, copy]
        }
        return Report(
            database: databaseURL, methods: results,
            copyOverSingleRow: results[2].rowsPerSecond / results[0].rowsPerSecond)
    }
}
