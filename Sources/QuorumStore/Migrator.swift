import Foundation
import QuorumDigest

/// One migration file: `NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    /// The number (`NNNN`), which orders migrations.
    public var version: Int
    /// The file name without the number and extension.
    public var name: String
    /// The SQL.
    public var sql: String
    /// SHA-256 of the file's bytes, hex.
    public var checksum: String

    /// Reads every `NNNN_name.sql` in `directory`, sorted by number. Other files are an error, so a
    /// misnamed migration cannot be silently skipped.
    public static func load(from directory: String) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError("cannot read the migrations folder \(directory): \(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for file in names.sorted() where !file.hasPrefix(".") {
            let parts = file.split(separator: "_", maxSplits: 1)
            guard file.hasSuffix(".sql"), parts.count == 2, parts[0].count == 4, let version = Int(parts[0]) else {
                throw MigrationError(
                    "\(directory)/\(file) is not named NNNN_name.sql; rename it (e.g. 0002_add_pairs.sql)")
            }
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(file)") else {
                throw MigrationError("cannot read \(directory)/\(file)")
            }
            migrations.append(
                Migration(
                    version: version, name: String(parts[1].dropLast(4)), sql: String(decoding: data, as: UTF8.self),
                    checksum: SHA256.hexDigest(Array(data))))
        }
        for (first, second) in zip(migrations, migrations.dropFirst()) where first.version == second.version {
            throw MigrationError("two migrations share the number \(first.version): \(first.name) and \(second.name)")
        }
        return migrations
    }
}

/// What `migrate` did with one migration.
public struct MigrationOutcome: Sendable, Codable, Equatable {
    /// The number.
    public var version: Int
    /// The name.
    public var name: String
    /// `applied` now, or `unchanged` (applied before, same checksum).
    public var status: String
}

/// A migration problem a person must fix (an edited applied file, a bad file name, …).
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    /// What is wrong and what to do.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Applies migrations in order under an advisory lock, recording each (with its checksum) in
/// `schema_migrations`. Applying twice is a no-op; an applied file that was edited is an error.
public enum Migrator {
    /// The advisory-lock key that serialises concurrent `migrate` runs.
    static let lockKey: Int64 = 0x5155_4f52_554d  // "QUORUM"

    /// Applies what is pending; each migration runs in its own transaction with its record.
    public static func migrate(_ connection: PostgresConnection, migrations: [Migration]) throws -> [MigrationOutcome] {
        try connection.query("SELECT pg_advisory_lock(\(lockKey))")
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(lockKey))") }
        try connection.executeScript(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.query("SELECT version, name, checksum FROM schema_migrations") {
            applied[try row.decode(Int.self, at: 0)] = (
                try row.decode(String.self, at: 1), try row.decode(String.self, at: 2)
            )
        }
        let known = Set(migrations.map(\.version))
        if let unknown = applied.keys.sorted().first(where: { !known.contains($0) }) {
            throw MigrationError(
                "the database has migration \(unknown) (\(applied[unknown]!.name)) that is not in the migrations folder; "
                    + "is this checkout older than the database?")
        }
        var outcomes: [MigrationOutcome] = []
        for migration in migrations {
            if let record = applied[migration.version] {
                guard record.checksum == migration.checksum else {
                    throw MigrationError(
                        """
                        migration \(String(format: "%04d", migration.version))_\(migration.name).sql was edited after it \
                        was applied (recorded checksum \(record.checksum.prefix(12))…, file \(migration.checksum.prefix(12))…). \
                        Applied migrations are history: revert the edit and put the change in a new migration.
                        """)
                }
                outcomes.append(MigrationOutcome(version: migration.version, name: migration.name, status: "unchanged"))
                continue
            }
            try connection.withTransaction { connection in
                try connection.executeScript(migration.sql)
                try connection.execute(
                    """
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """)
            }
            outcomes.append(MigrationOutcome(version: migration.version, name: migration.name, status: "applied"))
        }
        return outcomes
    }
}
