import Foundation
import QuorumStore
import Testing

private struct Boom: Error {}

@Suite("PostgreSQL client against the real server")
struct PostgresIntegrationTests {
    @Test func parametersAreBoundNeverSpliced() async throws {
        try await TestStack.withScratchDatabase { url in
            let db = try PostgresConnection(url: url)
            try db.execute("CREATE TABLE notes (id bigint PRIMARY KEY, body text, score double precision, ok boolean)")
            let hostile = "x'); DROP TABLE notes; --"
            try db.execute("INSERT INTO notes VALUES (\(1), \(hostile), \(0.25), \(true))")
            let rows = try db.query("SELECT id, body, score, ok FROM notes WHERE body = \(hostile)")
            #expect(rows.count == 1)
            #expect(try rows[0].decode(Int.self, "id") == 1)
            #expect(try rows[0].decode(String.self, "body") == hostile)
            #expect(try rows[0].decode(Double.self, "score") == 0.25)
            #expect(try rows[0].decode(Bool.self, "ok"))
        }
    }

    @Test func nullsBytesAndJSONRoundTrip() async throws {
        try await TestStack.withScratchDatabase { url in
            let db = try PostgresConnection(url: url)
            try db.execute("CREATE TABLE blobs (id int, data bytea, note text, doc jsonb)")
            let bytes = PostgresBytes((0...255).map(UInt8.init) + [0, 0])
            let missing: String? = nil
            try db.execute(
                "INSERT INTO blobs VALUES (\(Int32(7)), \(bytes), \(missing), \(PostgresJSON("{\"k\": [1, 2]}")))")
            let row = try db.query("SELECT data, note, doc->'k'->>1 AS second FROM blobs")[0]
            #expect(try row.decode(PostgresBytes.self, "data") == bytes)
            #expect(try row.decode(String?.self, "note") == nil)
            #expect(row.isNull(1))
            #expect(try row.decode(String.self, "second") == "2")
            #expect(throws: PostgresError.self) { try row.decode(String.self, "note") }
            #expect(throws: PostgresError.self) { try row.decode(Int.self, "nope") }
        }
    }

    @Test func aTransactionThatThrowsIsRolledBack() async throws {
        try await TestStack.withScratchDatabase { url in
            let client = PostgresClient(url: url)
            try await client.execute("CREATE TABLE events (id int PRIMARY KEY)")
            await #expect(throws: Boom.self) {
                try await client.withTransaction { tx in
                    try tx.execute("INSERT INTO events VALUES (\(Int32(1)))")
                    try tx.execute("INSERT INTO events VALUES (\(Int32(2)))")
                    throw Boom()
                }
            }
            #expect(try await client.query("SELECT count(*) FROM events")[0].decode(Int.self, at: 0) == 0)
            // A constraint violation inside also rolls back the statements before it, and carries its SQLSTATE.
            do {
                try await client.withTransaction { tx in
                    try tx.execute("INSERT INTO events VALUES (\(Int32(3)))")
                    try tx.execute("INSERT INTO events VALUES (\(Int32(3)))")
                }
                Issue.record("expected a unique violation")
            } catch let error as PostgresError {
                #expect(error.code == .uniqueViolation)
            }
            #expect(try await client.query("SELECT count(*) FROM events")[0].decode(Int.self, at: 0) == 0)
            try await client.withTransaction { tx in try tx.execute("INSERT INTO events VALUES (\(Int32(4)))") }
            #expect(try await client.query("SELECT count(*) FROM events")[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test func copyLoadsAwkwardTextExactly() async throws {
        try await TestStack.withScratchDatabase { url in
            let db = try PostgresConnection(url: url)
            try db.execute("CREATE TABLE pairs (id bigint, chosen text, weight double precision, raw bytea)")
            let awkward = ["tab\there", "new\nline", "back\\slash", "\\N", "crlf\r\n", "emoji 🧮", ""]
            let rows: [[PostgresValue]] = (0..<1000).map { id in
                [
                    id.postgresValue, (id % 10 == 0 ? nil : awkward[id % awkward.count]).postgresValue,
                    (Double(id) / 3).postgresValue, PostgresBytes([UInt8(id % 256), 92, 0]).postgresValue,
                ]
            }
            #expect(try db.copy(into: "pairs", columns: ["id", "chosen", "weight", "raw"], rows: rows) == 1000)
            let back = try db.query("SELECT id, chosen, weight, raw FROM pairs ORDER BY id")
            #expect(back.count == 1000)
            for row in back {
                let id = try row.decode(Int.self, "id")
                #expect(try row.decode(String?.self, "chosen") == (id % 10 == 0 ? nil : awkward[id % awkward.count]))
                #expect(try row.decode(Double.self, "weight") == Double(id) / 3)
                #expect(try row.decode(PostgresBytes.self, "raw").bytes == [UInt8(id % 256), 92, 0])
            }
        }
    }

    @Test func syntaxErrorsCarryTheirSQLState() async throws {
        let db = try PostgresConnection(url: TestStack.endpoints.postgresURL)
        do {
            try db.execute("SELEC 1")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.code == .syntaxError)
            #expect(error.query == "SELEC 1")
        }
        // The session is still usable afterwards.
        #expect(try db.query("SELECT 41 + \(1)")[0].decode(Int.self, at: 0) == 42)
    }

    @Test func theClientReconnectsAfterTheServerDropsIt() async throws {
        let client = PostgresClient(url: TestStack.endpoints.postgresURL, reconnectDeadline: 20)
        let pid = try await client.query("SELECT pg_backend_pid()")[0].decode(Int32.self, at: 0)
        // Another session kills ours, as a server restart would.
        let other = try PostgresConnection(url: TestStack.endpoints.postgresURL)
        #expect(try other.query("SELECT pg_terminate_backend(\(pid))")[0].decode(Bool.self, at: 0))
        // The call in flight when the connection died fails with a connection-loss code…
        do {
            try await client.query("SELECT 1")
            Issue.record("expected the dropped connection to surface once")
        } catch let error as PostgresError {
            #expect(error.code.isConnectionLoss)
        }
        // …and the next one reconnects.
        let newPid = try await client.query("SELECT pg_backend_pid()")[0].decode(Int32.self, at: 0)
        #expect(newPid != pid)
        #expect(try await client.reconnectCount() == 1)
    }

    @Test func anUnreachableServerGivesAnActionableError() {
        do {
            _ = try PostgresConnection(url: "postgres://quorum@127.0.0.1:1/quorum?connect_timeout=2")
            Issue.record("expected a connection failure")
        } catch {
            #expect(error.code == .connectionFailure)
            #expect(error.hint?.contains("quorum stack up") == true)
        }
    }
}

@Suite("Migrations")
struct MigrationTests {
    var folder: String { TestStack.repositoryRoot.appendingPathComponent("migrations").path }

    @Test func applyingTwiceIsANoOp() async throws {
        try await TestStack.withScratchDatabase { url in
            let db = try PostgresConnection(url: url)
            let migrations = try Migration.load(from: folder)
            #expect(!migrations.isEmpty)
            let first = try Migrator.migrate(db, migrations: migrations)
            #expect(first.allSatisfy { $0.status == "applied" })
            let tables = try db.query("SELECT count(*) FROM schema_migrations")[0].decode(Int.self, at: 0)
            #expect(tables == migrations.count)
            let second = try Migrator.migrate(db, migrations: migrations)
            #expect(second.allSatisfy { $0.status == "unchanged" })
            #expect(
                try db.query("SELECT count(*) FROM schema_migrations")[0].decode(Int.self, at: 0) == migrations.count)
        }
    }

    @Test func anEditedAppliedMigrationIsAnError() async throws {
        try await TestStack.withScratchDatabase { url in
            let db = try PostgresConnection(url: url)
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("migrations"))
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let file = scratch.appendingPathComponent("0001_things.sql")
            try "CREATE TABLE things (id int);".write(to: file, atomically: true, encoding: .utf8)
            _ = try Migrator.migrate(db, migrations: try Migration.load(from: scratch.path))
            try "CREATE TABLE things (id bigint);".write(to: file, atomically: true, encoding: .utf8)
            #expect(throws: MigrationError.self) {
                try Migrator.migrate(db, migrations: try Migration.load(from: scratch.path))
            }
            // A failing new migration leaves no trace: neither its table nor its record.
            try "CREATE TABLE things (id int);".write(to: file, atomically: true, encoding: .utf8)
            try "CREATE TABLE more (id int); SELECT 1/0;".write(
                to: scratch.appendingPathComponent("0002_more.sql"), atomically: true, encoding: .utf8)
            #expect(throws: PostgresError.self) {
                try Migrator.migrate(db, migrations: try Migration.load(from: scratch.path))
            }
            #expect(try db.query("SELECT to_regclass('more') IS NULL")[0].decode(Bool.self, at: 0))
            #expect(try db.query("SELECT count(*) FROM schema_migrations")[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test func aMisnamedFileIsRefused() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("migrations"))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        try "SELECT 1;".write(to: scratch.appendingPathComponent("add_things.sql"), atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.self) { try Migration.load(from: scratch.path) }
    }
}
