import Foundation
public import QuorumPipeline
public import QuorumServing
public import SCPO
import Yams

/// An experiment, as written in `pipelines/experiments/NAME.yaml`: for each seed, one seed model M0
/// and then every mode trained from that same M0 on the same unlabeled problems, round after round,
/// every model evaluated on one fixed held-out test set.
///
/// Keys are snake_case; every key but `name` and `seed_model` has a default (the SCPO paper's
/// where it has one).
public struct ExperimentSpec: Sendable, Equatable, Codable {
    /// The experiment's name: lower-case letters, digits and `-`; it keys every stored result.
    public var name: String
    /// The seeds; each trains its own M0 (the SFT config with `seed` set to it) and runs every mode.
    public var seeds: [Int]
    /// The seed-model training configuration (e.g. `pipelines/seed-model-small.json`).
    public var seedModel: String
    /// Generator knobs of every problem (unlabeled, dev and test), as M0 was trained on.
    public var problems: GeneratorKnobs
    /// The unlabeled problems SCPO samples.
    public var unlabeled: Unlabeled
    /// The labeled dev split each round chooses its epoch on.
    public var dev: Split
    /// The held-out test split every model is evaluated on (never trained on).
    public var test: Split
    /// The format workers sample (and models are evaluated) in.
    public var servingFormat: ServingFormat
    /// How answers are sampled.
    public var sampling: PipelineSpec.Sampling
    /// τ per round as a fraction of k; the last value repeats.
    public var tau: [Double]
    /// Rounds per mode (M1, M2, …).
    public var rounds: Int
    /// The modes, each trained from the same M0.
    public var modes: [SCPOMethod]
    /// In `scpo-semi`, the fraction of the unlabeled problems whose gold answer is used.
    public var labeledFraction: Double
    /// The trainer settings every mode shares (the mode itself is set per mode).
    public var trainer: SCPOConfig
    /// Samples per problem of the majority-vote evaluation (0: greedy only).
    public var evaluationK: Int

    /// The unlabeled problems of each round.
    public struct Unlabeled: Sendable, Equatable, Codable {
        /// Problems per round.
        public var count: Int
        /// Generator seed (a train-split stream other than M0's); problems M0 was trained on are removed.
        public var dataSeed: UInt64
        /// Whether each round draws fresh problems (true) or every round samples round 1's.
        public var freshEachRound: Bool

        enum CodingKeys: String, CodingKey {
            case count, dataSeed = "data_seed", freshEachRound = "fresh_each_round"
        }
    }

    /// A labeled split: how many problems from which generator seed.
    public struct Split: Sendable, Equatable, Codable {
        public var count: Int
        public var seed: UInt64
    }

    /// τ for round `round` (1-based): the last listed value repeats.
    public func tau(forRound round: Int) -> Double {
        tau[min(max(round, 1), tau.count) - 1]
    }

    enum CodingKeys: String, CodingKey {
        case name, seeds, seedModel = "seed_model", problems, unlabeled, dev, test
        case servingFormat = "serving_format", sampling, tau, rounds, modes, labeledFraction = "labeled_fraction"
        case trainer, evaluationK = "evaluation_k"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        seeds = try c.decodeIfPresent([Int].self, forKey: .seeds) ?? [1, 2, 3]
        seedModel = try c.decode(String.self, forKey: .seedModel)
        problems = try c.decodeIfPresent(GeneratorKnobs.self, forKey: .problems) ?? GeneratorKnobs()
        unlabeled =
            try c.decodeIfPresent(Unlabeled.self, forKey: .unlabeled)
            ?? Unlabeled(count: 2000, dataSeed: 2, freshEachRound: true)
        dev = try c.decodeIfPresent(Split.self, forKey: .dev) ?? Split(count: 500, seed: 7)
        test = try c.decodeIfPresent(Split.self, forKey: .test) ?? Split(count: 1000, seed: 1)
        servingFormat = try c.decodeIfPresent(ServingFormat.self, forKey: .servingFormat) ?? .fp32
        sampling = try c.decodeIfPresent(PipelineSpec.Sampling.self, forKey: .sampling) ?? PipelineSpec.Sampling()
        tau = try c.decodeIfPresent([Double].self, forKey: .tau) ?? [0.5, 0.7]
        rounds = try c.decodeIfPresent(Int.self, forKey: .rounds) ?? 2
        modes =
            try c.decodeIfPresent([SCPOMethod].self, forKey: .modes)
            ?? [.scpo, .scpoUnweighted, .irpoGold, .scpoSemi, .lmsi]
        labeledFraction = try c.decodeIfPresent(Double.self, forKey: .labeledFraction) ?? 0.5
        trainer = try c.decodeIfPresent(SCPOConfig.self, forKey: .trainer) ?? SCPOConfig()
        evaluationK = try c.decodeIfPresent(Int.self, forKey: .evaluationK) ?? 8
    }

    /// Checks every field, naming the one to change.
    public func validate() throws(ExperimentError) {
        func require(_ ok: Bool, _ message: String) throws(ExperimentError) {
            if !ok { throw ExperimentError(message) }
        }
        try require(
            !name.isEmpty && name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" } && name.count <= 64,
            "name must be lower-case letters, digits and '-' (got \"\(name)\")")
        try require(!seeds.isEmpty && Set(seeds).count == seeds.count, "seeds must be a non-empty list without repeats")
        try require(!modes.isEmpty && Set(modes).count == modes.count, "modes must be a non-empty list without repeats")
        try require((1...5).contains(rounds), "rounds must be between 1 and 5 (got \(rounds))")
        try require(!tau.isEmpty && tau.allSatisfy { (0...1).contains($0) }, "tau values must be fractions in [0, 1]")
        try require(unlabeled.count >= 1, "unlabeled.count must be at least 1")
        try require(test.count >= 1 && dev.count >= 0, "test.count must be at least 1 and dev.count not negative")
        try require((0...1).contains(labeledFraction), "labeled_fraction must be in [0, 1] (got \(labeledFraction))")
        try require(sampling.k >= 2, "sampling.k must be at least 2 (got \(sampling.k))")
        try require(evaluationK >= 0, "evaluation_k must be 0 (greedy only) or more")
        do { try trainer.validate() } catch { throw ExperimentError("trainer: \(error.message)") }
    }

    /// Reads and validates a spec file.
    ///
    /// - Throws: ``ExperimentError`` saying what is wrong with the file.
    public static func load(path: String) throws(ExperimentError) -> ExperimentSpec {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ExperimentError("cannot read \(path): \(error.localizedDescription); check the path")
        }
        return try parse(text, file: path)
    }

    /// Parses and validates spec text (`file` names it in errors).
    public static func parse(_ text: String, file: String = "<string>") throws(ExperimentError) -> ExperimentSpec {
        let spec: ExperimentSpec
        do { spec = try YAMLDecoder().decode(ExperimentSpec.self, from: text) } catch {
            throw ExperimentError("\(file): \(Self.describe(error))")
        }
        do { try spec.validate() } catch { throw ExperimentError("\(file): \(error.message)") }
        return spec
    }

    /// A decoding error as a sentence naming the key.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the document" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key \"\(key.stringValue)\" in \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)): \(context.debugDescription)"
        case .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// A problem with an experiment, said so that a person can act on it.
public struct ExperimentError: Error, Sendable, CustomStringConvertible {
    /// What was wrong and what to do.
    public var message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

extension ExperimentSpec {
    /// The seeds a comma-separated list names (`"1,3"`), each one of the spec's.
    ///
    /// - Throws: ``ExperimentError`` naming the entry that is not.
    public func seeds(parsing list: String) throws -> [Int] {
        try list.split(separator: ",").map { part in
            guard let seed = Int(part.trimmingCharacters(in: .whitespaces)), seeds.contains(seed) else {
                throw ExperimentError("seed \"\(part)\" is not one of the spec's seeds \(seeds)")
            }
            return seed
        }
    }

    /// Seed models given as `SEED=DIR` entries: the folder to use as that seed's M0.
    ///
    /// - Throws: ``ExperimentError`` naming an entry that is not `SEED=DIR` with a model folder.
    public static func seedModelFolders(parsing entries: [String]) throws -> [Int: String] {
        var folders: [Int: String] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let seed = Int(parts[0]),
                FileManager.default.fileExists(atPath: parts[1] + "/model.safetensors")
            else { throw ExperimentError("\(entry): use SEED=DIR with a model folder (model.safetensors)") }
            folders[seed] = parts[1]
        }
        return folders
    }
}
