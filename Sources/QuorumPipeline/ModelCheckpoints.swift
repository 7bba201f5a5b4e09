import Foundation
import NeuZip
import QuorumDigest
public import QuorumStore

/// A model published for a round: where its NeuZip bytes are and how well they compressed.
public struct PublishedCheckpoint: Sendable, Codable, Equatable {
    /// The pipeline.
    public var pipeline: String
    /// The model's index: M_round (0 is the seed model).
    public var round: Int
    /// SHA-256 of the `.nzck` bytes in the artifact store.
    public var artifact: String
    /// Bytes of the model folder's safetensors before compression.
    public var uncompressedBytes: Int
    /// Bytes of the `.nzck`.
    public var compressedBytes: Int
}

/// A model folder as one lossless NeuZip checkpoint in an artifact store, and back.
public struct ModelArtifacts: Sendable {
    /// Where the bytes go.
    public let store: any ArtifactStore

    /// Creates the mover.
    public init(store: any ArtifactStore) { self.store = store }

    /// What ``put(directory:)`` stored.
    public struct Packed: Sendable {
        /// SHA-256 of the `.nzck` bytes.
        public var sha256: String
        /// Bytes of the folder's safetensors before compression.
        public var uncompressedBytes: Int
        /// Bytes of the `.nzck`.
        public var compressedBytes: Int
    }

    /// Compresses `directory` (model.safetensors plus its companion files) and stores it.
    public func put(directory: String) async throws -> Packed {
        try await Self.packed(directory) { file, uncompressed in
            let digest = try await store.upload(file: file)
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            return Packed(sha256: digest, uncompressedBytes: uncompressed, compressedBytes: size)
        }
    }

    /// Stores `directory` again as artifact `sha256` when its stored copy is damaged. Returns false
    /// when the folder does not pack to exactly those bytes (it is not the model that was stored).
    public func restore(_ sha256: String, from directory: String) async throws -> Bool {
        try await Self.packed(directory) { file, _ in
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            guard SHA256.hexDigest(bytes) == sha256 else { return false }
            try await store.restore(bytes)
            return true
        }
    }

    /// Packs the folder into a lossless `.nzck` in a scratch folder (deterministic: the same folder
    /// packs to the same bytes) and hands `body` its path and the tensors' uncompressed size.
    static func packed<Result>(
        _ directory: String, _ body: (_ file: String, _ uncompressedBytes: Int) async throws -> Result
    ) async throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quorum-publish-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let file = scratch.appendingPathComponent("model.nzck").path
        let records = try CompressedCheckpoint.compress(input: directory, output: file, mode: .lossless)
        return try await body(file, records.reduce(0) { $0 + $1.originalByteCount })
    }

    /// A model folder from `path`: the folder itself, or a `.nzck` checkpoint unpacked into
    /// `directory` after its SHA-256 is checked against `sha256` (when given).
    ///
    /// - Throws: ``ArtifactError`` when the file's digest differs or it cannot be read.
    public static func folder(from path: String, sha256: String?, unpackingInto directory: String) throws -> String {
        guard path.hasSuffix(".nzck") else { return path }
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ArtifactError(message: "cannot read the seed checkpoint \(path): \(error.localizedDescription)")
        }
        if let sha256 {
            let digest = SHA256.hexDigest(bytes)
            guard digest == sha256.lowercased() else {
                throw ArtifactError(
                    message: "\(path) has SHA-256 \(digest), not the \(sha256) the spec names; the file is damaged "
                        + "or was rebuilt: restore it, or update model.sha256 if you rebuilt it on purpose")
            }
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try CompressedCheckpoint.decompress(input: path, output: directory + "/model.safetensors", extractFiles: true)
        return directory
    }

    /// Fetches artifact `sha256`, verifies it, and unpacks it into `directory`.
    public func get(_ sha256: String, into directory: String) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/model.nzck"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await store.download(sha256, to: file)
        try CompressedCheckpoint.decompress(input: file, output: directory + "/model.safetensors", extractFiles: true)
    }
}

/// Moves model folders (safetensors + config.json + tokenizer.json + records) between the trainer
/// and the workers as lossless NeuZip checkpoints in an artifact store, recorded in `checkpoints`.
public struct ModelCheckpoints: Sendable {
    /// The database holding the `checkpoints` table.
    public let database: PostgresClient
    /// Where the bytes go.
    public let store: any ArtifactStore

    /// Creates the mover.
    public init(database: PostgresClient, store: any ArtifactStore) {
        self.database = database
        self.store = store
    }

    /// Compresses `directory` and records it as model M_`round` of `pipeline`. Publishing the
    /// same round again keeps the first record (rounds are immutable once published).
    @discardableResult
    public func publish(directory: String, pipeline: String, round: Int) async throws
        -> PublishedCheckpoint
    {
        let packed = try await ModelArtifacts(store: store).put(directory: directory)
        let (digest, uncompressed, compressed) = (packed.sha256, packed.uncompressedBytes, packed.compressedBytes)
        try await database.execute(
            """
            INSERT INTO checkpoints (pipeline, round, artifact, uncompressed_bytes, compressed_bytes)
            VALUES (\(pipeline), \(Int32(round)), \(digest), \(uncompressed), \(compressed))
            ON CONFLICT (pipeline, round) DO NOTHING
            """)
        return try await find(pipeline: pipeline, round: round)!
    }

    /// The record of model M_`round`, if it was published.
    public func find(pipeline: String, round: Int) async throws -> PublishedCheckpoint? {
        let rows = try await database.query(
            """
            SELECT artifact, uncompressed_bytes, compressed_bytes FROM checkpoints
            WHERE pipeline = \(pipeline) AND round = \(Int32(round))
            """)
        guard let row = rows.first else { return nil }
        return PublishedCheckpoint(
            pipeline: pipeline, round: round, artifact: try row.decode(String.self, "artifact"),
            uncompressedBytes: try row.decode(Int.self, "uncompressed_bytes"),
            compressedBytes: try row.decode(Int.self, "compressed_bytes"))
    }

    /// Fetches model M_`round`, verifies it, and unpacks it into `directory` (model.safetensors plus
    /// the companion files). Throws when it was not published.
    public func fetch(pipeline: String, round: Int, into directory: String) async throws {
        guard let published = try await find(pipeline: pipeline, round: round) else {
            throw CheckpointNotPublished(pipeline: pipeline, round: round)
        }
        try await ModelArtifacts(store: store).get(published.artifact, into: directory)
    }
}

extension ModelCheckpoints {
    /// What ``mendIfDamaged(pipeline:round:localCopy:)`` found.
    public enum Mending: Sendable, Equatable {
        /// The stored checkpoint reads back whole (or none is published yet).
        case intact
        /// It was damaged and was stored again from the local copy.
        case restored
        /// It is damaged and there is no local copy that packs to it.
        case damagedWithoutCopy(String)
    }

    /// Reads M_`round`'s stored checkpoint back; when it is damaged, stores it again from `localCopy`
    /// (the model folder it was published from).
    public func mendIfDamaged(pipeline: String, round: Int, localCopy: String) async throws -> Mending {
        guard let published = try await find(pipeline: pipeline, round: round) else { return .intact }
        do {
            _ = try await store.get(published.artifact)
            return .intact
        } catch let error as ArtifactError where error.isDamage {
            let artifacts = ModelArtifacts(store: store)
            if FileManager.default.fileExists(atPath: localCopy + "/model.safetensors"),
                try await artifacts.restore(published.artifact, from: localCopy)
            {
                return .restored
            }
            return .damagedWithoutCopy(error.message)
        }
    }
}

/// Model M_`round` of a pipeline was never published: a task of round `round + 1` is stale (from an
/// earlier pipeline of the same name) or forged, since a round's tasks go out only after its model.
public struct CheckpointNotPublished: Error, CustomStringConvertible, Sendable {
    public let pipeline: String
    public let round: Int
    public var description: String { "pipeline \(pipeline) has no published model M\(round) yet" }
}
