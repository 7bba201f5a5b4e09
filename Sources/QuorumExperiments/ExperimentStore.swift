import Foundation
import QuorumDigest
import QuorumPipeline
public import QuorumStore

/// Where a model of an experiment sits: M0 of a seed, or M_round of a mode.
public struct ModelKey: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The seed.
    public var seed: Int
    /// `seed` for M0, else the mode's name.
    public var mode: String
    /// The round: 0 for M0.
    public var round: Int

    /// A key.
    public init(seed: Int, mode: String, round: Int) {
        self.seed = seed
        self.mode = mode
        self.round = round
    }

    /// M0 of `seed`.
    public static func seedModel(_ seed: Int) -> ModelKey { ModelKey(seed: seed, mode: seedMode, round: 0) }

    /// The mode name of M0.
    public static let seedMode = "seed"

    /// `seed/0`, `scpo/1`, …: the model's name within a seed.
    public var name: String { "\(mode)/\(round)" }

    public var description: String { "seed \(seed) \(round == 0 ? "M0" : "\(mode) M\(round)")" }
}

/// One model's held-out evaluation.
public struct StoredEvaluation: Sendable, Equatable, Codable {
    /// Which model.
    public var key: ModelKey
    /// The serving format it ran in.
    public var format: String
    /// k of the majority vote (0: greedy only).
    public var k: Int
    /// Per test problem, in test order: whether greedy decoding was right.
    public var greedy: [Bool]
    /// Per test problem: whether the majority of k was right (empty when k = 0).
    public var majority: [Bool]
    /// Wall-clock seconds.
    public var seconds: Double

    /// An evaluation.
    public init(key: ModelKey, format: String, k: Int, greedy: [Bool], majority: [Bool], seconds: Double) {
        self.key = key
        self.format = format
        self.k = k
        self.greedy = greedy
        self.majority = majority
        self.seconds = seconds
    }

    /// Greedy accuracy in [0, 1].
    public var greedyAccuracy: Double { Double(greedy.filter { $0 }.count) / Double(max(greedy.count, 1)) }
    /// Majority-of-k accuracy in [0, 1] (nil when k = 0).
    public var majorityAccuracy: Double? {
        majority.isEmpty ? nil : Double(majority.filter { $0 }.count) / Double(majority.count)
    }
}

/// A stored model: its artifact and training summary.
public struct StoredModel: Sendable, Equatable {
    /// Which model.
    public var key: ModelKey
    /// SHA-256 of its NeuZip checkpoint in the artifact store.
    public var artifact: String
    /// Training examples used (nil for M0).
    public var pairs: Int?
    /// Fraction of them whose chosen answer is the gold one.
    public var pairPrecision: Double?
    /// Seconds of training.
    public var seconds: Double
    /// The epoch the round kept (0: M_t itself, no epoch beat it on dev); nil for M0.
    public var keptEpoch: Int? = nil
}

/// Every SQL statement of the experiment runner, with typed rows.
public struct ExperimentStore: Sendable {
    /// The database.
    public let database: PostgresClient
    /// The experiment.
    public let experiment: String

    /// A store for `experiment`.
    public init(database: PostgresClient, experiment: String) {
        self.database = database
        self.experiment = experiment
    }

    /// Records the experiment's spec. A spec that differs from the stored one is an error: results
    /// of two different experiments must not mix under one name.
    public func register(specJSON: String) async throws {
        let digest = SHA256.hexDigest(specJSON)
        try await database.execute(
            """
            INSERT INTO experiments (name, spec, spec_sha256) VALUES (\(experiment), \(PostgresJSON(specJSON)), \(digest))
            ON CONFLICT (name) DO NOTHING
            """)
        let stored = try await database.query("SELECT spec_sha256 FROM experiments WHERE name = \(experiment)")
        guard try stored.first?.decode(String.self, "spec_sha256") == digest else {
            throw ExperimentError(
                "experiment \(experiment) was started with another spec; give this one another name, or delete "
                    + "the old results (DELETE FROM experiments WHERE name = '\(experiment)')")
        }
    }

    /// Whether the experiment was ever registered.
    public func exists() async throws -> Bool {
        try await !database.query("SELECT 1 FROM experiments WHERE name = \(experiment)").isEmpty
    }

    /// The stored spec JSON.
    public func specJSON() async throws -> String? {
        try await database.query("SELECT spec::text AS spec FROM experiments WHERE name = \(experiment)")
            .first?.decode(String.self, "spec")
    }

    // MARK: Models

    /// Records a trained model (once: a second save of the same key keeps the first).
    public func saveModel(_ model: StoredModel, recordJSON: String) async throws {
        try await database.execute(
            """
            INSERT INTO experiment_models (experiment, seed, mode, round, artifact, pairs, pair_precision, seconds, record)
            VALUES (\(experiment), \(Int32(model.key.seed)), \(model.key.mode), \(Int32(model.key.round)),
                    \(model.artifact), \(model.pairs), \(model.pairPrecision), \(model.seconds), \(PostgresJSON(recordJSON)))
            ON CONFLICT DO NOTHING
            """)
    }

    /// The stored model of `key`, if any.
    public func model(_ key: ModelKey) async throws -> StoredModel? {
        let rows = try await database.query(
            """
            SELECT artifact, pairs, pair_precision, seconds FROM experiment_models
            WHERE experiment = \(experiment) AND seed = \(Int32(key.seed)) AND mode = \(key.mode)
              AND round = \(Int32(key.round))
            """)
        guard let row = rows.first else { return nil }
        return StoredModel(
            key: key, artifact: try row.decode(String.self, "artifact"), pairs: try row.decode(Int?.self, "pairs"),
            pairPrecision: try row.decode(Double?.self, "pair_precision"), seconds: try row.decode(Double.self, "seconds"))
    }

    /// Every stored model.
    public func models() async throws -> [StoredModel] {
        let rows = try await database.query(
            """
            SELECT seed, mode, round, artifact, pairs, pair_precision, seconds,
                   (record ->> 'best_epoch')::integer AS kept_epoch
            FROM experiment_models WHERE experiment = \(experiment) ORDER BY seed, mode, round
            """)
        return try rows.map { row in
            StoredModel(
                key: ModelKey(
                    seed: try row.decode(Int.self, "seed"), mode: try row.decode(String.self, "mode"),
                    round: try row.decode(Int.self, "round")),
                artifact: try row.decode(String.self, "artifact"), pairs: try row.decode(Int?.self, "pairs"),
                pairPrecision: try row.decode(Double?.self, "pair_precision"),
                seconds: try row.decode(Double.self, "seconds"), keptEpoch: try row.decode(Int?.self, "kept_epoch"))
        }
    }

    // MARK: Samples

    /// What a sampling step stored.
    public struct Samples: Sendable {
        /// JSONL of ``QuorumVoting/ProblemSamples``-shaped rows.
        public var jsonl: [UInt8]
        /// Problems sampled.
        public var problems: Int
        /// Tokens generated.
        public var tokens: Int
        /// Wall-clock seconds.
        public var seconds: Double

        /// Samples.
        public init(jsonl: [UInt8], problems: Int, tokens: Int, seconds: Double) {
            self.jsonl = jsonl
            self.problems = problems
            self.tokens = tokens
            self.seconds = seconds
        }
    }

    /// Records what `model` sampled for round `round`'s problems (once).
    public func saveSamples(_ samples: Samples, model: ModelKey, round: Int) async throws {
        try await database.execute(
            """
            INSERT INTO experiment_samples (experiment, seed, model, round, problems, samples, tokens, seconds)
            VALUES (\(experiment), \(Int32(model.seed)), \(model.name), \(Int32(round)), \(Int32(samples.problems)),
                    \(PostgresBytes(samples.jsonl)), \(samples.tokens), \(samples.seconds))
            ON CONFLICT DO NOTHING
            """)
    }

    /// What `model` sampled for round `round`, if stored.
    public func samples(model: ModelKey, round: Int) async throws -> Samples? {
        let rows = try await database.query(
            """
            SELECT problems, samples, tokens, seconds FROM experiment_samples
            WHERE experiment = \(experiment) AND seed = \(Int32(model.seed)) AND model = \(model.name)
              AND round = \(Int32(round))
            """)
        guard let row = rows.first else { return nil }
        return Samples(
            jsonl: try row.decode(PostgresBytes.self, "samples").bytes, problems: try row.decode(Int.self, "problems"),
            tokens: try row.decode(Int.self, "tokens"), seconds: try row.decode(Double.self, "seconds"))
    }

    /// Seconds spent sampling per seed (for the time report).
    public func samplingSeconds() async throws -> [Int: Double] {
        let rows = try await database.query(
            "SELECT seed, sum(seconds) AS s FROM experiment_samples WHERE experiment = \(experiment) GROUP BY seed")
        return try Dictionary(uniqueKeysWithValues: rows.map { (try $0.decode(Int.self, "seed"), try $0.decode(Double.self, "s")) })
    }

    // MARK: Evaluations

    /// Records an evaluation (once).
    public func saveEvaluation(_ evaluation: StoredEvaluation) async throws {
        let bytes = OutcomeBytes.encode(greedy: evaluation.greedy, majority: evaluation.majority)
        let key = evaluation.key
        try await database.execute(
            """
            INSERT INTO experiment_evaluations (experiment, seed, mode, round, format, problems, k, greedy_correct,
                                                majority_correct, outcomes, seconds)
            VALUES (\(experiment), \(Int32(key.seed)), \(key.mode), \(Int32(key.round)), \(evaluation.format),
                    \(Int32(evaluation.greedy.count)), \(Int32(evaluation.k)), \(Int32(evaluation.greedy.filter { $0 }.count)),
                    \(evaluation.majority.isEmpty ? nil : Int32(evaluation.majority.filter { $0 }.count)),
                    \(PostgresBytes(bytes)), \(evaluation.seconds))
            ON CONFLICT DO NOTHING
            """)
    }

    /// Every stored evaluation.
    public func evaluations() async throws -> [StoredEvaluation] {
        let rows = try await database.query(
            """
            SELECT seed, mode, round, format, k, outcomes, seconds FROM experiment_evaluations
            WHERE experiment = \(experiment) ORDER BY seed, mode, round
            """)
        return try rows.map { row in
            let bytes = try row.decode(PostgresBytes.self, "outcomes").bytes
            let k = try row.decode(Int.self, "k")
            return StoredEvaluation(
                key: ModelKey(
                    seed: try row.decode(Int.self, "seed"), mode: try row.decode(String.self, "mode"),
                    round: try row.decode(Int.self, "round")),
                format: try row.decode(String.self, "format"), k: k, greedy: OutcomeBytes.greedy(bytes),
                majority: k > 0 ? OutcomeBytes.majority(bytes) : [], seconds: try row.decode(Double.self, "seconds"))
        }
    }

    /// Whether `key` was evaluated.
    public func hasEvaluation(_ key: ModelKey) async throws -> Bool {
        try await !database.query(
            """
            SELECT 1 FROM experiment_evaluations WHERE experiment = \(experiment) AND seed = \(Int32(key.seed))
              AND mode = \(key.mode) AND round = \(Int32(key.round))
            """
        ).isEmpty
    }
}
