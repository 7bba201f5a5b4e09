import Foundation
public import QuorumKafka
public import QuorumStore
public import QuorumServing
public import QuorumTasks
public import QuorumTraining
public import SCPO
import Yams

/// A pipeline job, as written in `pipelines/NAME.yaml`.
///
/// Keys are snake_case. Everything but `name` and `model` has a default taken from the SCPO paper
/// (docs/papers.md §1): k = 8, temperature 0.7, top-p 0.9, τ = 0.5 then 0.7, two rounds, β = 0.5, α = 1.
public struct PipelineSpec: Sendable, Equatable, Codable {
    /// The pipeline's name: lower-case letters, digits and `-`; it names the Kafka topics
    /// (`quorum.NAME.tasks`, `quorum.NAME.votes`).
    public var name: String
    /// Where round 0's model comes from.
    public var model: ModelSource
    /// How workers serve the model.
    public var servingFormat: ServingFormat
    /// Where problems come from (at least one source).
    public var problems: [ProblemSource]
    /// How many answers to sample per problem, and how.
    public var sampling: Sampling
    /// The vote threshold per round, as a fraction of k; the last value repeats for later rounds.
    public var tau: [Double]
    /// How many SCPO rounds to run.
    public var rounds: Int
    /// The training objective.
    public var mode: SCPOMethod
    /// In `scpo-semi`, the fraction of problems whose gold answer the trainer may use.
    public var labeledFraction: Double?
    /// SCPO trainer settings.
    public var trainer: Trainer
    /// Held-out evaluation after each round.
    public var evaluation: Evaluation
    /// Worker processes `quorum run` starts on this machine.
    public var workers: Int
    /// Kafka and PostgreSQL addresses; absent: the environment, else the embedded stack.
    public var kafkaBrokers: String?
    /// See ``kafkaBrokers``.
    public var postgresURL: String?
    /// Partitions of the pipeline's topics (the most workers that can share a round).
    public var partitions: Int
    /// Kafka settings for a real cluster (security, timeouts, replication); nil: the defaults.
    public var kafka: Kafka?
    /// The round manager's patience; nil: the defaults. Safe to change on a registered pipeline.
    public var timeouts: Timeouts?
    /// Where checkpoints are kept; nil: in PostgreSQL.
    public var artifacts: Artifacts?

    /// Where the pipeline's checkpoints are kept.
    public struct Artifacts: Sendable, Equatable, Codable {
        /// The kinds of store.
        public enum Store: String, Sendable, Codable { case postgres, directory }
        /// `postgres` (chunks in the database: workers need only its address) or `directory` (files on
        /// a filesystem every process of the pipeline mounts at `path`).
        public var store: Store
        /// The directory of a `directory` store.
        public var path: String?
    }

    /// The artifact store the spec names.
    public func artifactStore(database: PostgresClient) throws -> any ArtifactStore {
        guard let artifacts, artifacts.store == .directory, let path = artifacts.path else {
            return PostgresArtifactStore(client: database)
        }
        return try DirectoryArtifactStore(directory: path, database: database)
    }

    /// How long the round manager waits before acting.
    public struct Timeouts: Sendable, Equatable, Codable {
        /// Seconds without a new vote record after which the problems still missing one are published
        /// again (tasks lost with a broker, or held by a worker that hangs).
        public var republishAfter: Double = 60
        /// Seconds of consecutive database or broker failures the manager waits out before it gives up.
        public var outageTolerance: Double = 600

        /// The defaults.
        public init() {}

        enum CodingKeys: String, CodingKey {
            case republishAfter = "republish_after", outageTolerance = "outage_tolerance"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            republishAfter = try c.decodeIfPresent(Double.self, forKey: .republishAfter) ?? 60
            outageTolerance = try c.decodeIfPresent(Double.self, forKey: .outageTolerance) ?? 600
        }
    }

    /// Settings every process of the pipeline applies to Kafka.
    public struct Kafka: Sendable, Equatable, Codable {
        /// librdkafka properties (`security.protocol`, `sasl.mechanism`, `ssl.ca.location`,
        /// `message.timeout.ms`, `max.poll.interval.ms`, …), applied after Quorum's defaults.
        public var properties: [String: String] = [:]
        /// Replicas of each topic the pipeline creates (1 on a single broker; 3 on a real cluster).
        public var replicationFactor: Int = 1

        /// The defaults: no extra properties, one replica.
        public init() {}

        enum CodingKeys: String, CodingKey {
            case properties, replicationFactor = "replication_factor"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            properties = try c.decodeIfPresent([String: String].self, forKey: .properties) ?? [:]
            replicationFactor = try c.decodeIfPresent(Int.self, forKey: .replicationFactor) ?? 1
        }
    }

    /// The Kafka client settings for `brokers`: the spec's properties, then `extra` (a process's own
    /// `--kafka-property` flags) on top.
    public func kafkaConfiguration(brokers: String, extra: [String: String] = [:]) -> KafkaConfiguration {
        KafkaConfiguration(
            bootstrapServers: brokers, properties: (kafka?.properties ?? [:]).merging(extra) { _, flag in flag })
    }

    /// Where the seed model comes from.
    public struct ModelSource: Sendable, Equatable, Codable {
        /// A model folder (safetensors + config.json + tokenizer.json) or a `.nzck` checkpoint of one
        /// (as `quorum ckpt compress` writes it).
        public var path: String?
        /// A seed-training configuration to run first, when there is no model yet.
        public var trainConfig: String?
        /// The SHA-256 (hex) the `.nzck` file at `path` must have; checked before it is used.
        public var sha256: String?
    }

    /// One source of problems.
    public struct ProblemSource: Sendable, Equatable, Codable {
        /// Synthetic arithmetic problems: generator seed and count.
        public var synthetic: Synthetic?
        /// A JSONL file of `{"id","question","answer","solution"}` rows.
        public var jsonl: String?
        /// Problems the model writes itself, few-shot prompted with 4 training questions; kept only
        /// if their vote passes τ.
        public var selfGenerated: SelfGenerated?

        /// Settings of the synthetic source: generator seed and count, and the generator's knobs
        /// (`min_steps`, `max_steps`, `max_number`, `max_result`, `operations`) in the same mapping.
        public struct Synthetic: Sendable, Equatable, Codable {
            public var seed: UInt64
            public var count: Int
            /// The generator's knobs.
            public var knobs: GeneratorKnobs
            /// Whether each round draws fresh problems (round r from seed `seed + r − 1`) instead of
            /// sampling round 1's again.
            public var freshEachRound: Bool?

            /// The generator's configuration.
            public var generator: GeneratorConfig { knobs.generator }
        }

        /// Settings of the self-generated source.
        public struct SelfGenerated: Sendable, Equatable, Codable {
            public var count: Int
            /// Seed of the example draws (default 1).
            public var seed: UInt64?
        }
    }

    /// Sampling settings (SCPO: k = 8 for math, temperature 0.7, top-p 0.9).
    public struct Sampling: Sendable, Equatable, Codable {
        public var k: Int = 8
        public var temperature: Double = 0.7
        public var topP: Double = 0.9
        public var maxNewTokens: Int = 160
        /// Extra samples at a high temperature, drawn to find a rejected answer when all k agree.
        public var extraSamples: Int = 0
        public var extraTemperature: Double = 1.2

        /// The paper's settings.
        public init() {}
    }

    /// Trainer settings: ``SCPOConfig``'s keys (`lr`, `epochs`, `batch`, `beta`, `alpha`, …, with its
    /// defaults; the spec's `mode` sets the objective) and the dev split the epoch is chosen on.
    public struct Trainer: Sendable, Equatable, Codable {
        /// The SCPO settings (the mode is set from the spec's `mode`).
        public var scpo = SCPOConfig()
        /// Labeled dev problems on which the trainer picks the best epoch (0: keep the last epoch).
        public var devCount: Int = 200
        /// The dev problems from this JSONL file (its first `devCount`) instead of the generated dev split.
        public var devJSONL: String?

        /// The defaults.
        public init() {}
    }

    /// Evaluation settings: greedy and majority-of-k accuracy on a held-out split.
    public struct Evaluation: Sendable, Equatable, Codable {
        public var split: String = "test"
        public var count: Int = 200
        public var k: Int = 8
        /// Labeled problems to evaluate on (their first `count`) instead of the generated split: your
        /// own test set, in Quorum's or GSM8K's JSONL form.
        public var jsonl: String?

        /// The defaults: 200 test problems, majority of 8.
        public init() {}
    }

    /// τ for round `round` (1-based): the last listed value repeats.
    public func tau(forRound round: Int) -> Double {
        tau[min(max(round, 1), tau.count) - 1]
    }

    /// Every file the spec names (the seed model or its training config, JSONL problem sources) that
    /// does not exist on this machine, as "key: path"; checked before any work starts.
    public var missingFiles: [String] {
        var named: [(key: String, path: String)] = []
        if let path = model.path { named.append(("model.path", path)) }
        if let config = model.trainConfig { named.append(("model.train_config", config)) }
        if let file = trainer.devJSONL { named.append(("trainer.dev_jsonl", file)) }
        if let file = evaluation.jsonl { named.append(("evaluation.jsonl", file)) }
        for (index, source) in problems.enumerated() {
            if let file = source.jsonl { named.append(("problems.\(index).jsonl", file)) }
        }
        return named.filter { !FileManager.default.fileExists(atPath: $0.path) }.map { "\($0.key): \($0.path)" }
    }

    /// Why `stored` may not become `new` for a pipeline that has created `roundsCreated` rounds, or nil
    /// when the change is safe: only `rounds` (never below the rounds that exist), `workers`, the
    /// endpoints and `timeouts` may change — everything else shapes rounds already recorded.
    public static func refusal(changing stored: PipelineSpec, to new: PipelineSpec, roundsCreated: Int) throws
        -> String?
    {
        if new.rounds < roundsCreated {
            return "rounds \(new.rounds) would drop rounds that exist (\(roundsCreated) were created)"
        }
        var aligned = stored
        aligned.rounds = new.rounds
        aligned.workers = new.workers
        aligned.kafkaBrokers = new.kafkaBrokers
        aligned.postgresURL = new.postgresURL
        aligned.timeouts = new.timeouts
        let before = try JSONSerialization.jsonObject(with: Data(WireFormat.encode(aligned))) as? [String: Any] ?? [:]
        let after = try JSONSerialization.jsonObject(with: Data(WireFormat.encode(new))) as? [String: Any] ?? [:]
        func text(_ value: Any?) -> Data? {
            value.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
        }
        let changed = Set(before.keys).union(after.keys).sorted().filter { text(before[$0]) != text(after[$0]) }
        return changed.isEmpty ? nil : "its \(changed.joined(separator: ", ")) changed (only rounds, workers, endpoints and timeouts may)"
    }

    /// The Kafka topic problems are published to.
    public var tasksTopic: String { "quorum.\(name).tasks" }
    /// The Kafka topic vote records are published to.
    public var votesTopic: String { "quorum.\(name).votes" }
}

extension PipelineSpec {
    enum CodingKeys: String, CodingKey {
        case name, model, problems, sampling, tau, rounds, mode, trainer, evaluation, workers, partitions
        case servingFormat = "serving_format", labeledFraction = "labeled_fraction"
        case kafkaBrokers = "kafka_brokers", postgresURL = "postgres_url", kafka, timeouts, artifacts
    }

    /// Decodes with the defaults above for every optional key.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        model = try c.decode(ModelSource.self, forKey: .model)
        servingFormat = try c.decodeIfPresent(ServingFormat.self, forKey: .servingFormat) ?? .fp32
        problems = try c.decode([ProblemSource].self, forKey: .problems)
        sampling = try c.decodeIfPresent(Sampling.self, forKey: .sampling) ?? Sampling()
        tau = try c.decodeIfPresent([Double].self, forKey: .tau) ?? [0.5, 0.7]
        rounds = try c.decodeIfPresent(Int.self, forKey: .rounds) ?? 2
        mode = try c.decodeIfPresent(SCPOMethod.self, forKey: .mode) ?? .scpo
        labeledFraction = try c.decodeIfPresent(Double.self, forKey: .labeledFraction)
        trainer = try c.decodeIfPresent(Trainer.self, forKey: .trainer) ?? Trainer()
        evaluation = try c.decodeIfPresent(Evaluation.self, forKey: .evaluation) ?? Evaluation()
        workers = try c.decodeIfPresent(Int.self, forKey: .workers) ?? 2
        kafkaBrokers = try c.decodeIfPresent(String.self, forKey: .kafkaBrokers)
        postgresURL = try c.decodeIfPresent(String.self, forKey: .postgresURL)
        partitions = try c.decodeIfPresent(Int.self, forKey: .partitions) ?? 4
        kafka = try c.decodeIfPresent(Kafka.self, forKey: .kafka)
        timeouts = try c.decodeIfPresent(Timeouts.self, forKey: .timeouts)
        artifacts = try c.decodeIfPresent(Artifacts.self, forKey: .artifacts)
    }
}

extension PipelineSpec.ModelSource {
    enum CodingKeys: String, CodingKey {
        case path, trainConfig = "train_config", sha256
    }
}

extension PipelineSpec.ProblemSource {
    enum CodingKeys: String, CodingKey {
        case synthetic, jsonl, selfGenerated = "self_generated"
    }
}

extension PipelineSpec.ProblemSource.Synthetic {
    enum CodingKeys: String, CodingKey {
        case seed, count, freshEachRound = "fresh_each_round"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seed = try c.decode(UInt64.self, forKey: .seed)
        count = try c.decode(Int.self, forKey: .count)
        freshEachRound = try c.decodeIfPresent(Bool.self, forKey: .freshEachRound)
        knobs = try GeneratorKnobs(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seed, forKey: .seed)
        try c.encode(count, forKey: .count)
        try c.encodeIfPresent(freshEachRound, forKey: .freshEachRound)
        try knobs.encode(to: encoder)
    }
}

/// The synthetic problem generator's knobs as specs write them (snake_case keys, each optional:
/// an absent knob keeps the generator's default).
public struct GeneratorKnobs: Sendable, Equatable, Codable {
    public var minSteps: Int?
    public var maxSteps: Int?
    public var maxNumber: Int?
    public var maxResult: Int?
    /// Operations the problems may use (`"+-*"`: no division); nil: all four.
    public var operations: String?

    /// Knobs; nil ones keep the generator's defaults.
    public init(
        minSteps: Int? = nil, maxSteps: Int? = nil, maxNumber: Int? = nil, maxResult: Int? = nil,
        operations: String? = nil
    ) {
        self.minSteps = minSteps
        self.maxSteps = maxSteps
        self.maxNumber = maxNumber
        self.maxResult = maxResult
        self.operations = operations
    }

    /// The generator's configuration.
    public var generator: GeneratorConfig {
        var config = GeneratorConfig()
        if let minSteps { config.minSteps = minSteps }
        if let maxSteps { config.maxSteps = maxSteps }
        if let maxNumber { config.maxNumber = maxNumber }
        config.maxResult = maxResult
        config.operations = operations
        return config
    }

    enum CodingKeys: String, CodingKey {
        case minSteps = "min_steps", maxSteps = "max_steps", maxNumber = "max_number", maxResult = "max_result"
        case operations
    }
}

extension PipelineSpec.Sampling {
    enum CodingKeys: String, CodingKey {
        case k, temperature, topP = "top_p", maxNewTokens = "max_new_tokens", extraSamples = "extra_samples"
        case extraTemperature = "extra_temperature"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        k = try c.decodeIfPresent(Int.self, forKey: .k) ?? defaults.k
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature) ?? defaults.temperature
        topP = try c.decodeIfPresent(Double.self, forKey: .topP) ?? defaults.topP
        maxNewTokens = try c.decodeIfPresent(Int.self, forKey: .maxNewTokens) ?? defaults.maxNewTokens
        extraSamples = try c.decodeIfPresent(Int.self, forKey: .extraSamples) ?? defaults.extraSamples
        extraTemperature = try c.decodeIfPresent(Double.self, forKey: .extraTemperature) ?? defaults.extraTemperature
    }

}

extension PipelineSpec.Trainer {
    enum CodingKeys: String, CodingKey {
        case devCount = "dev_count", devJSONL = "dev_jsonl"
    }

    /// The keys a `trainer:` mapping may hold.
    static var keys: Set<String> {
        Set(SCPOConfig.CodingKeys.allCases.map(\.rawValue)).subtracting(["mode"]).union(["dev_count", "dev_jsonl"])
    }

    public init(from decoder: any Decoder) throws {
        scpo = try SCPOConfig(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        devCount = try c.decodeIfPresent(Int.self, forKey: .devCount) ?? 200
        devJSONL = try c.decodeIfPresent(String.self, forKey: .devJSONL)
    }

    /// The dev split a round chooses its epoch on, for M_t trained as `record` says; nil with `dev_count: 0`.
    public func devSplit(record: TrainingRecord?, maxNewTokens: Int) throws -> SCPODevSplit? {
        guard devCount > 0 else { return nil }
        let problems = try ProblemSelection(file: devJSONL, count: devCount, split: .dev).problems(record: record)
        return SCPODevSplit(problems: problems, maxNewTokens: maxNewTokens)
    }

    public func encode(to encoder: any Encoder) throws {
        try scpo.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(devCount, forKey: .devCount)
        try c.encodeIfPresent(devJSONL, forKey: .devJSONL)
    }
}

extension PipelineSpec.Evaluation {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        split = try c.decodeIfPresent(String.self, forKey: .split) ?? defaults.split
        count = try c.decodeIfPresent(Int.self, forKey: .count) ?? defaults.count
        k = try c.decodeIfPresent(Int.self, forKey: .k) ?? defaults.k
        jsonl = try c.decodeIfPresent(String.self, forKey: .jsonl)
    }

    /// The problems M_n is evaluated on, for a model trained as `record` says.
    public func problems(record: TrainingRecord?) throws -> [Problem] {
        guard let split = DataSplit(rawValue: split) else { throw RoundError(message: "unknown evaluation split \"\(split)\"") }
        return try ProblemSelection(file: jsonl, count: count, split: split).problems(record: record)
    }
}
