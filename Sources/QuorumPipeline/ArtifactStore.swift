import Foundation
import QuorumDigest
public import QuorumStore

/// Where checkpoints travel between the trainer and the workers: content-addressed by SHA-256.
public protocol ArtifactStore: Sendable {
    /// Stores `bytes` (a no-op if they are already stored) and returns their SHA-256, hex.
    func put(_ bytes: [UInt8]) async throws -> String
    /// Reads an artifact back, verifying its digest.
    func get(_ sha256: String) async throws -> [UInt8]
    /// Whether a complete artifact with this digest exists.
    func contains(_ sha256: String) async throws -> Bool
    /// Stores `bytes` again under their digest, replacing what is stored there (a damaged copy);
    /// readers see the old copy or the new one, never a mix.
    func restore(_ bytes: [UInt8]) async throws
    /// Stores the file at `path` (a no-op if its bytes are stored) and returns its SHA-256, without
    /// holding the whole file in memory.
    func upload(file path: String) async throws -> String
    /// Writes artifact `sha256` to the file at `path` and verifies it, without holding it whole in
    /// memory; a damaged artifact leaves no file behind.
    func download(_ sha256: String, to path: String) async throws
}

/// Streams a file in pieces.
enum FilePieces {
    /// Calls `body` with each piece of up to `size` bytes of the file at `path`, in order.
    static func read(_ path: String, size: Int, _ body: ([UInt8]) async throws -> Void) async throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ArtifactError(message: "cannot read \(path)")
        }
        defer { try? handle.close() }
        while let piece = try handle.read(upToCount: size), !piece.isEmpty { try await body([UInt8](piece)) }
    }

    /// The SHA-256 (hex) and size of the file at `path`, read in pieces.
    static func digest(_ path: String) async throws -> (sha256: String, size: Int) {
        var hash = SHA256()
        var size = 0
        try await read(path, size: 1 << 20) { piece in
            hash.update(piece)
            size += piece.count
        }
        return (Hex.encode(hash.finalize()), size)
    }
}

/// An artifact that is missing or damaged.
public struct ArtifactError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public let message: String
    /// Whether the stored bytes no longer match their digest (``ArtifactStore/restore(_:)`` mends it).
    public var isDamage = false
    public var description: String { message }

    /// The error for stored bytes that hash to `actual` instead of their name `sha256`.
    static func damaged(_ sha256: String, actual: String) -> ArtifactError {
        ArtifactError(
            message: "artifact \(sha256.prefix(12))… is damaged: its bytes hash to \(actual.prefix(12))…", isDamage: true)
    }
}

/// The default store: artifacts in PostgreSQL, in chunks of `chunkBytes` (1 MiB), so a worker needs
/// only the database address — no shared filesystem.
///
/// Chunks are written in their own transactions (a large checkpoint does not hold one huge
/// transaction open); the artifact is marked complete last, so a reader never sees a partial one,
/// and an interrupted upload is resumed by the next `put` of the same bytes.
public struct PostgresArtifactStore: ArtifactStore {
    /// The database.
    public let client: PostgresClient
    /// Bytes per chunk.
    public let chunkBytes: Int

    /// Creates a store on a database that has Quorum's migrations.
    public init(client: PostgresClient, chunkBytes: Int = 1 << 20) {
        self.client = client
        self.chunkBytes = chunkBytes
    }

    public func put(_ bytes: [UInt8]) async throws -> String {
        let digest = SHA256.hexDigest(bytes)
        guard let stored = try await begin(digest, size: bytes.count) else { return digest }
        for (index, start) in stride(from: 0, to: bytes.count, by: chunkBytes).enumerated() where !stored.contains(index) {
            try await insertChunk(digest, index: index, Array(bytes[start..<min(start + chunkBytes, bytes.count)]))
        }
        try await client.execute("UPDATE artifacts SET complete = true WHERE sha256 = \(digest)")
        return digest
    }

    /// Registers artifact `digest` of `size` bytes; returns the chunks already stored (an interrupted
    /// upload resumes after them), or nil when the artifact is complete.
    private func begin(_ digest: String, size: Int) async throws -> Set<Int>? {
        let chunkBytes = self.chunkBytes
        let existing = try await client.withTransaction { db in
            try db.execute(
                """
                INSERT INTO artifacts (sha256, size_bytes, chunk_bytes) VALUES (\(digest), \(size), \(Int32(chunkBytes)))
                ON CONFLICT (sha256) DO NOTHING
                """)
            let row = try db.query("SELECT complete, chunk_bytes FROM artifacts WHERE sha256 = \(digest)")[0]
            let stored = try db.query("SELECT index FROM artifact_chunks WHERE sha256 = \(digest)")
            return (
                complete: try row.decode(Bool.self, at: 0), chunkBytes: try row.decode(Int.self, at: 1),
                chunks: Set(try stored.map { try $0.decode(Int.self, at: 0) })
            )
        }
        if existing.complete { return nil }
        guard existing.chunkBytes == chunkBytes else {
            throw ArtifactError(
                message: "artifact \(digest.prefix(12))… was partly stored with \(existing.chunkBytes)-byte chunks; "
                    + "store it with the same chunk size")
        }
        return existing.chunks
    }

    /// Stores one chunk, in a transaction of its own (a no-op when it is there).
    private func insertChunk(_ digest: String, index: Int, _ bytes: [UInt8]) async throws {
        try await client.execute(
            """
            INSERT INTO artifact_chunks (sha256, index, data) VALUES (\(digest), \(Int32(index)), \(PostgresBytes(bytes)))
            ON CONFLICT DO NOTHING
            """)
    }

    public func get(_ sha256: String) async throws -> [UInt8] {
        let bytes = try await client.withConnection { db -> [UInt8]? in
            let header = try db.query("SELECT size_bytes, complete FROM artifacts WHERE sha256 = \(sha256)")
            guard let row = header.first, try row.decode(Bool.self, at: 1) else { return nil }
            let size = try row.decode(Int.self, at: 0)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(size)
            for chunk in try db.query("SELECT data FROM artifact_chunks WHERE sha256 = \(sha256) ORDER BY index") {
                bytes += try chunk.decode(PostgresBytes.self, at: 0).bytes
            }
            return bytes
        }
        guard let bytes else { throw ArtifactError(message: "no complete artifact \(sha256) in the database") }
        let actual = SHA256.hexDigest(bytes)
        guard actual == sha256 else { throw ArtifactError.damaged(sha256, actual: actual) }
        return bytes
    }

    public func contains(_ sha256: String) async throws -> Bool {
        try await client.query("SELECT 1 FROM artifacts WHERE sha256 = \(sha256) AND complete").count == 1
    }

    public func upload(file path: String) async throws -> String {
        let (digest, size) = try await FilePieces.digest(path)
        guard let stored = try await begin(digest, size: size) else { return digest }
        var index = 0
        try await FilePieces.read(path, size: chunkBytes) { piece in
            defer { index += 1 }
            if !stored.contains(index) { try await insertChunk(digest, index: index, piece) }
        }
        try await client.execute("UPDATE artifacts SET complete = true WHERE sha256 = \(digest)")
        return digest
    }

    public func download(_ sha256: String, to path: String) async throws {
        let header = try await client.query("SELECT size_bytes, complete FROM artifacts WHERE sha256 = \(sha256)")
        guard let row = header.first, try row.decode(Bool.self, at: 1) else {
            throw ArtifactError(message: "no complete artifact \(sha256) in the database")
        }
        let size = try row.decode(Int.self, at: 0)
        guard FileManager.default.createFile(atPath: path, contents: nil), let output = FileHandle(forWritingAtPath: path)
        else { throw ArtifactError(message: "cannot write \(path)") }
        var hash = SHA256()
        var written = 0
        do {
            defer { try? output.close() }
            // One chunk per query: the artifact is never whole in memory.
            var index: Int32 = 0
            while written < size {
                let rows = try await client.query(
                    "SELECT data FROM artifact_chunks WHERE sha256 = \(sha256) AND index = \(index)")
                guard let chunk = rows.first else { break }  // a chunk is missing: the digest says so below
                let bytes = try chunk.decode(PostgresBytes.self, at: 0).bytes
                guard !bytes.isEmpty else { break }
                hash.update(bytes)
                try output.write(contentsOf: bytes)
                written += bytes.count
                index += 1
            }
        }
        let actual = Hex.encode(hash.finalize())
        guard actual == sha256 else {
            try? FileManager.default.removeItem(atPath: path)
            throw ArtifactError.damaged(sha256, actual: actual)
        }
    }

    public func restore(_ bytes: [UInt8]) async throws {
        let digest = SHA256.hexDigest(bytes)
        let chunkBytes = self.chunkBytes
        try await client.withTransaction { db in
            try db.execute(
                """
                INSERT INTO artifacts (sha256, size_bytes, chunk_bytes) VALUES (\(digest), \(bytes.count), \(Int32(chunkBytes)))
                ON CONFLICT (sha256) DO UPDATE SET size_bytes = EXCLUDED.size_bytes, chunk_bytes = EXCLUDED.chunk_bytes
                """)
            try db.execute("DELETE FROM artifact_chunks WHERE sha256 = \(digest)")
            for (index, start) in stride(from: 0, to: bytes.count, by: chunkBytes).enumerated() {
                let chunk = PostgresBytes(Array(bytes[start..<min(start + chunkBytes, bytes.count)]))
                try db.execute(
                    "INSERT INTO artifact_chunks (sha256, index, data) VALUES (\(digest), \(Int32(index)), \(chunk))")
            }
            try db.execute("UPDATE artifacts SET complete = true WHERE sha256 = \(digest)")
        }
    }
}

/// Artifacts as files `<directory>/<sha256>` — for models too large for the database, on a shared
/// or replicated filesystem (the spec's `artifacts: { store: directory, path: … }`). Files are written to a temporary name and renamed, so readers never
/// see a partial file.
public struct DirectoryArtifactStore: ArtifactStore {
    /// The folder.
    public let directory: String
    /// Where each stored artifact is recorded (`artifacts`, store `directory`), so that checkpoints can
    /// refer to it; nil for a store used on its own.
    public let database: PostgresClient?

    /// Creates a store in `directory` (created if missing).
    public init(directory: String, database: PostgresClient? = nil) throws {
        self.directory = directory
        self.database = database
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ArtifactError(message: "cannot use \(directory) as the artifact directory: \(error.localizedDescription)")
        }
    }

    /// Records artifact `sha256` of `size` bytes as stored here.
    private func record(_ sha256: String, size: Int) async throws {
        try await database?.execute(
            """
            INSERT INTO artifacts (sha256, size_bytes, chunk_bytes, complete, store)
            VALUES (\(sha256), \(size), \(Int32(1 << 20)), true, 'directory')
            ON CONFLICT (sha256) DO NOTHING
            """)
    }

    public func put(_ bytes: [UInt8]) async throws -> String {
        let digest = SHA256.hexDigest(bytes)
        if !FileManager.default.fileExists(atPath: directory + "/" + digest) { try write(bytes, digest: digest) }
        try await record(digest, size: bytes.count)
        return digest
    }

    public func restore(_ bytes: [UInt8]) async throws {
        try write(bytes, digest: SHA256.hexDigest(bytes))
    }

    public func upload(file path: String) async throws -> String {
        let (digest, size) = try await FilePieces.digest(path)
        try await copy(path, digest: digest)
        try await record(digest, size: size)
        return digest
    }

    /// Copies the file at `path` in under the name `digest` (a no-op when it is there).
    private func copy(_ path: String, digest: String) async throws {
        let target = directory + "/" + digest
        if FileManager.default.fileExists(atPath: target) { return }
        let temporary = target + ".partial-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.copyItem(atPath: path, toPath: temporary)
        } catch {
            throw ArtifactError(message: "cannot copy \(path) into \(directory): \(error.localizedDescription)")
        }
        if rename(temporary, target) != 0 {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ArtifactError(message: "cannot move \(temporary) to \(target): \(String(cString: strerror(errno)))")
        }
    }

    public func download(_ sha256: String, to path: String) async throws {
        let source = directory + "/" + sha256
        guard FileManager.default.fileExists(atPath: source) else {
            throw ArtifactError(message: "no artifact \(sha256) in \(directory)")
        }
        let (actual, _) = try await FilePieces.digest(source)
        guard actual == sha256 else { throw ArtifactError.damaged(sha256, actual: actual) }
        try? FileManager.default.removeItem(atPath: path)
        do { try FileManager.default.copyItem(atPath: source, toPath: path) } catch {
            throw ArtifactError(message: "cannot copy \(source) to \(path): \(error.localizedDescription)")
        }
    }

    /// Writes the file under a temporary name and renames it into place.
    private func write(_ bytes: [UInt8], digest: String) throws {
        let path = directory + "/" + digest
        let temporary = path + ".partial-\(UInt32.random(in: 0...UInt32.max))"
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ArtifactError(message: "cannot move \(temporary) to \(path): \(String(cString: strerror(errno)))")
        }
    }

    public func get(_ sha256: String) async throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + sha256) else {
            throw ArtifactError(message: "no artifact \(sha256) in \(directory)")
        }
        let bytes = [UInt8](data)
        let actual = SHA256.hexDigest(bytes)
        guard actual == sha256 else { throw ArtifactError.damaged(sha256, actual: actual) }
        return bytes
    }

    public func contains(_ sha256: String) async throws -> Bool {
        FileManager.default.fileExists(atPath: directory + "/" + sha256)
    }
}

extension PostgresArtifactStore {
    /// One stored artifact and what refers to it.
    public struct Listing: Encodable, Sendable {
        public var sha256: String
        public var bytes: Int
        public var complete: Bool
        /// Where its bytes are: `postgres` or `directory`.
        public var store: String
        public var created: String
        /// Pipelines' model checkpoints and experiments' models that use it.
        public var references: Int

        /// The listing in one line.
        public var line: String {
            "\(sha256.prefix(16))…  \(bytes) bytes  \(complete ? "complete" : "incomplete")  in \(store)  "
                + "\(references) reference\(references == 1 ? "" : "s")  \(created)"
        }
    }

    /// Every artifact, oldest first, with how many checkpoints and experiment models refer to it.
    public func list() async throws -> [Listing] {
        try await client.query(
            """
            SELECT a.sha256, a.size_bytes, a.complete, a.store, to_char(a.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created,
                   (SELECT count(*) FROM checkpoints c WHERE c.artifact = a.sha256)
                     + (SELECT count(*) FROM experiment_models m WHERE m.artifact = a.sha256) AS refs
            FROM artifacts a ORDER BY a.created_at, a.sha256
            """
        ).map {
            Listing(
                sha256: try $0.decode(String.self, "sha256"), bytes: try $0.decode(Int.self, "size_bytes"),
                complete: try $0.decode(Bool.self, "complete"), store: try $0.decode(String.self, "store"),
                created: try $0.decode(String.self, "created"),
                references: try $0.decode(Int.self, "refs"))
        }
    }

    /// Deletes every artifact nothing refers to (a deleted pipeline's models, an interrupted upload)
    /// that is older than `minimumAge` (so that an upload in progress, not yet recorded, is spared).
    /// Returns how many artifacts and bytes were freed.
    @discardableResult
    public func collectGarbage(minimumAge: Duration = .seconds(3600)) async throws -> (artifacts: Int, bytes: Int) {
        let seconds = Double(minimumAge.components.seconds)
        let row = try await client.query(
            """
            WITH gone AS (
                DELETE FROM artifacts a
                WHERE a.created_at < now() - make_interval(secs => \(seconds))
                  AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.artifact = a.sha256)
                  AND NOT EXISTS (SELECT 1 FROM experiment_models m WHERE m.artifact = a.sha256)
                RETURNING a.size_bytes)
            SELECT count(*) AS n, coalesce(sum(size_bytes), 0)::bigint AS bytes FROM gone
            """)[0]
        return (try row.decode(Int.self, "n"), try row.decode(Int.self, "bytes"))
    }
}
