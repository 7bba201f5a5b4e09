import Foundation
public import QuorumPipeline
import QuorumServing
import QuorumTasks
import QuorumTokenizer
import QuorumTraining
public import QuorumVoting
import SCPO
import QuorumCore

/// Runs an experiment to the end: per seed, M0, then every mode's rounds from that same M0, every
/// model evaluated on the one held-out test set.
///
/// Every step is stored in PostgreSQL as it finishes (models as NeuZip artifacts, samples, training
/// summaries, evaluations) and skipped when it is already there, so a run killed at any moment and
/// started again recomputes nothing that was stored; a new machine with the same database picks up
/// where the last one stopped. Round 1's samples come from the shared M0 and serve every mode; from
/// round 2 on each mode samples from its own model.
///
/// Sampling runs in the spec's serving format with the workers' sampler (``ModelSampler``: one random
/// stream per problem id and sample), so the runner draws what a pipeline round draws.
public struct ExperimentRunner: Sendable {
    /// The experiment.
    public let spec: ExperimentSpec
    /// Its stored results.
    public let store: ExperimentStore
    /// Where models go (NeuZip in the artifact store).
    public let artifacts: ModelArtifacts
    /// A cache of model folders (`DIR/NAME/seed-S/MODE-R`); anything in it can be rebuilt from the store.
    public let workDirectory: String
    /// Seed models trained elsewhere, by seed: imported as that seed's M0 instead of training one.
    public var seedModelFolders: [Int: String] = [:]
    /// Where progress lines go.
    public var log: @Sendable (String) -> Void = { _ in }
    /// Called after each step is stored, with its description (tests stop a run here).
    public var stepStored: @Sendable (String) async throws -> Void = { _ in }

    /// A runner.
    public init(spec: ExperimentSpec, store: ExperimentStore, artifacts: ModelArtifacts, workDirectory: String) {
        self.spec = spec
        self.store = store
        self.artifacts = artifacts
        self.workDirectory = workDirectory
    }

    /// Runs `seeds` (default: the spec's) to the end.
    public func run(seeds: [Int]? = nil) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try await store.register(specJSON: String(decoding: try encoder.encode(spec), as: UTF8.self))
        let data = try ExperimentData(spec: spec)
        for seed in seeds ?? spec.seeds {
            try await run(seed: seed, data: data)
        }
    }

    /// One seed's models, in order.
    func run(seed: Int, data: ExperimentData) async throws {
        let m0 = ModelKey.seedModel(seed)
        try await ensureSeedModel(m0)
        try await ensureEvaluation(m0, test: data.test)
        for round in 1...spec.rounds {
            let problems = data.unlabeled(round: round)
            for mode in spec.modes {
                let key = ModelKey(seed: seed, mode: mode.rawValue, round: round)
                if try await store.model(key) == nil {
                    let source = round == 1 ? m0 : ModelKey(seed: seed, mode: mode.rawValue, round: round - 1)
                    let samples = try await ensureSamples(from: source, round: round, problems: problems)
                    try await train(key, mode: mode, from: source, samples: samples, dev: data.dev)
                }
                try await ensureEvaluation(key, test: data.test)
            }
        }
    }

    // MARK: Steps

    /// M0 of a seed: imported from ``seedModelFolders`` or trained from the spec's SFT config with
    /// its `seed` set to the experiment seed.
    func ensureSeedModel(_ key: ModelKey) async throws {
        if try await store.model(key) != nil { return }
        let folder = self.folder(key)
        let started = ContinuousClock.now
        if let given = seedModelFolders[key.seed] {
            log("[experiment] seed \(key.seed): importing M0 from \(given)")
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(
                atPath: (folder as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: given, toPath: folder)
        } else {
            var loaded = try SFTConfig.load(path: spec.seedModel)
            loaded.seed = UInt64(key.seed)
            let config = loaded
            log("[experiment] seed \(key.seed): training M0 from \(spec.seedModel) (seed \(key.seed))")
            try await runOnDedicatedThread {
                try SFTTrainer(config: config).run().save(directory: folder)
            }
        }
        let record = (try? String(contentsOfFile: folder + "/" + Checkpoint.recordFile, encoding: .utf8)) ?? "{}"
        let packed = try await artifacts.put(directory: folder)
        // An imported M0 counts the time its own training took (from its record), not the copy's.
        let trained = seedModelFolders[key.seed] == nil
            ? nil : (try? JSONDecoder().decode(TrainingRecord.self, from: Data(record.utf8)))?.timings.totalSeconds
        let seconds = trained ?? Self.seconds(since: started)
        try await store.saveModel(
            StoredModel(key: key, artifact: packed.sha256, pairs: nil, pairPrecision: nil, seconds: seconds),
            recordJSON: record)
        try await stepStored("model \(key)")
    }

    /// What `source` sampled for round `round`'s problems: k samples per problem (and the extra
    /// high-temperature ones the spec asks for), stored once.
    func ensureSamples(from source: ModelKey, round: Int, problems: [Problem]) async throws -> [ProblemSamples] {
        if let stored = try await store.samples(model: source, round: round) {
            return try SamplesJSONL.decode(Data(stored.jsonl))
        }
        let folder = try await ensureFolder(source)
        let sampling = spec.sampling
        log(
            "[experiment] \(source): sampling \(problems.count) problems × \(sampling.k)"
                + (sampling.extraSamples > 0 ? " (+\(sampling.extraSamples) at T \(sampling.extraTemperature))" : "")
                + " in \(spec.servingFormat.rawValue)")
        let started = ContinuousClock.now
        let served = try ModelFolder.load(directory: folder, format: spec.servingFormat)
        let sampler = ModelSampler(
            generator: served.generator, tokenizer: served.tokenizer, format: served.promptFormat,
            maxNewTokens: sampling.maxNewTokens, maxBatchSize: 128)
        let questions = problems.map { (id: $0.id, question: $0.question) }
        let seed = UInt64(round)
        let responses = try await sampler.sample(
            questions, k: sampling.k, temperature: sampling.temperature, topP: sampling.topP, seed: seed)
        var extras: [[String]] = problems.map { _ in [] }
        if sampling.extraSamples > 0 {
            extras = try await sampler.sample(
                questions, k: sampling.extraSamples, temperature: sampling.extraTemperature, topP: sampling.topP,
                seed: seed &+ 0x0E47_0000)
        }
        var rows: [ProblemSamples] = []
        var tokens = 0
        for (index, problem) in problems.enumerated() {
            let ordinary = responses[index].map {
                SampledResponse(problemID: problem.id, prompt: problem.question, extractingFrom: $0)
            }
            let extra = extras[index].map {
                SampledResponse(problemID: problem.id, prompt: problem.question, extractingFrom: $0, isExtra: true)
            }
            tokens += (responses[index] + extras[index]).reduce(0) {
                $0 + served.tokenizer.encode($1, parseSpecialTokens: false).count
            }
            rows.append(
                ProblemSamples(
                    problemID: problem.id, prompt: problem.question,
                    gold: SampledResponse.canonicalAnswer(problem.answer), responses: ordinary + extra))
        }
        let jsonl = try SamplesJSONL.encode(rows)
        let seconds = Self.seconds(since: started)
        try await store.saveSamples(
            ExperimentStore.Samples(jsonl: [UInt8](jsonl), problems: problems.count, tokens: tokens, seconds: seconds),
            model: source, round: round)
        log(String(format: "[experiment] %@: sampled in %.0f s (%.0f tokens/s)", "\(source)", seconds, Double(tokens) / seconds))
        try await stepStored("samples \(source) round \(round)")
        return rows
    }

    /// M_round of `mode` from `source` on the round's samples.
    func train(
        _ key: ModelKey, mode: SCPOMethod, from source: ModelKey, samples: [ProblemSamples], dev: [Problem]
    ) async throws {
        let examples = mode.trainingExamples(
            samples, tau: spec.tau(forRound: key.round), labeledFraction: spec.labeledFraction, round: key.round)
        let precision = Self.precision(examples, samples: samples)
        let sourceFolder = try await ensureFolder(source)
        let folder = self.folder(key)
        var config = spec.trainer
        config.mode = mode.objective
        config.seed = UInt64(key.round)
        let round = SCPORound(
            config: config,
            dev: dev.isEmpty ? nil : SCPODevSplit(problems: dev, maxNewTokens: spec.sampling.maxNewTokens))
        log(
            "[experiment] \(key): training on \(examples.count) examples from \(samples.count) problems"
                + (precision.map { String(format: " (chosen answer correct %.1f %%)", $0 * 100) } ?? ""))
        let started = ContinuousClock.now
        let logLine = log
        let recordJSON: String
        if examples.isEmpty {
            // Nothing to learn from: M_round is M_{round−1}.
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.copyItem(atPath: sourceFolder, toPath: folder)
            recordJSON = "{\"skipped\": \"no training examples\"}"
        } else {
            recordJSON = try await runOnDedicatedThread { () throws -> String in
                let start = try Checkpoint.load(directory: sourceFolder)
                let result = try round.train(from: start, pairs: examples, sourceModel: source.description) { event in
                    switch event {
                    case .stage(let text): logLine("[experiment] \(key): \(text)")
                    case .epoch(let epoch):
                        logLine(
                            "[experiment] \(key): epoch \(epoch.epoch) loss "
                                + String(format: "%.4f", epoch.train.loss)
                                + (epoch.devAccuracy.map { String(format: ", dev %.1f %%", $0 * 100) } ?? ""))
                    case .step: break
                    }
                }
                try SCPORound.save(result, directory: folder)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                return String(decoding: try encoder.encode(result.record), as: UTF8.self)
            }
        }
        let packed = try await artifacts.put(directory: folder)
        try await store.saveModel(
            StoredModel(
                key: key, artifact: packed.sha256, pairs: examples.count, pairPrecision: precision,
                seconds: Self.seconds(since: started)),
            recordJSON: recordJSON)
        try await stepStored("model \(key)")
    }

    /// The held-out evaluation of `key` in the serving format, stored once.
    func ensureEvaluation(_ key: ModelKey, test: [Problem]) async throws {
        if try await store.hasEvaluation(key) { return }
        let folder = try await ensureFolder(key)
        let format = spec.servingFormat
        let k = spec.evaluationK
        let maxNewTokens = spec.sampling.maxNewTokens
        log(
            "[experiment] \(key): evaluating on \(test.count) test problems (greedy"
                + (k > 0 ? ", majority of \(k))" : ")"))
        let started = ContinuousClock.now
        let outcomes = try await runOnDedicatedThread { () throws -> [ProblemOutcome] in
            let served = try ModelFolder.load(directory: folder, format: format)
            let evaluator = Evaluator(
                generator: served.generator, tokenizer: served.tokenizer, format: served.promptFormat,
                maxNewTokens: maxNewTokens)
            return evaluator.evaluate(test, k: k, seed: 0).outcomes
        }
        let evaluation = StoredEvaluation(
            key: key, format: format.rawValue, k: k, greedy: outcomes.map { $0.greedy == $0.gold },
            majority: k > 0 ? outcomes.map { $0.majority == $0.gold } : [], seconds: Self.seconds(since: started))
        try await store.saveEvaluation(evaluation)
        log(
            "[experiment] \(key): greedy " + String(format: "%.1f %%", evaluation.greedyAccuracy * 100)
                + (evaluation.majorityAccuracy.map { String(format: ", majority-of-%d %.1f %%", k, $0 * 100) } ?? "")
                + String(format: " (%.0f s)", evaluation.seconds))
        try await stepStored("evaluation \(key)")
    }

    // MARK: Pure parts

    /// The fraction of `examples` whose chosen answer is the gold answer (canonical forms on both
    /// sides); nil when none has a known gold answer.
    public static func precision(_ examples: [PreferencePair], samples: [ProblemSamples]) -> Double? {
        let gold = Dictionary(samples.compactMap { s in s.gold.map { (s.problemID, $0) } }, uniquingKeysWith: { a, _ in a })
        let judged = examples.compactMap { example -> Bool? in
            guard let answer = gold[example.problemID] else { return nil }
            return SampledResponse.canonicalAnswer(example.chosenAnswer) == answer
        }
        return judged.isEmpty ? nil : Double(judged.filter { $0 }.count) / Double(judged.count)
    }

    // MARK: Folders

    /// The cache folder of `key`.
    func folder(_ key: ModelKey) -> String {
        "\(workDirectory)/\(spec.name)/seed-\(key.seed)/\(key.mode)-\(key.round)"
    }

    /// The folder of a stored model, fetched from the artifact store when the cache lacks it.
    func ensureFolder(_ key: ModelKey) async throws -> String {
        let folder = self.folder(key)
        if FileManager.default.fileExists(atPath: folder + "/model.safetensors") { return folder }
        guard let stored = try await store.model(key) else {
            throw ExperimentError("\(key) has not been made yet; run the experiment to make it")
        }
        try await artifacts.get(stored.artifact, into: folder)
        return folder
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

/// The problems of an experiment, the same for every seed: the held-out test split, the labeled
/// dev split, and the unlabeled problems of each round (train-split problems from the spec's data
/// seed, with every question M0 was trained on removed).
struct ExperimentData: Sendable {
    let test: [Problem]
    let dev: [Problem]
    let pool: [Problem]
    let perRound: Int
    let fresh: Bool

    init(spec: ExperimentSpec) throws {
        let generator = try ProblemGenerator(config: spec.problems.generator)
        test = try generator.generate(split: .test, count: spec.test.count, seed: spec.test.seed)
        dev = spec.dev.count > 0 ? try generator.generate(split: .dev, count: spec.dev.count, seed: spec.dev.seed) : []
        let seedConfig = try SFTConfig.load(path: spec.seedModel)
        let trained = Set(
            try ProblemGenerator(config: seedConfig.generator).generate(
                split: .train, count: seedConfig.trainCount, seed: seedConfig.dataSeed
            ).map { DataSplit.normalize($0.question) })
        perRound = spec.unlabeled.count
        fresh = spec.unlabeled.freshEachRound
        let needed = perRound * (fresh ? spec.rounds : 1)
        // Draw more than needed so that removing M0's problems still leaves enough.
        let drawn = try generator.generate(
            split: .train, count: needed + min(needed, 2_000) + trained.count / 10, seed: spec.unlabeled.dataSeed)
        let unseen = drawn.filter { !trained.contains(DataSplit.normalize($0.question)) }
        guard unseen.count >= needed else {
            throw ExperimentError(
                "only \(unseen.count) of the \(needed) unlabeled problems are not among M0's training problems; "
                    + "lower unlabeled.count or change unlabeled.data_seed")
        }
        pool = Array(unseen.prefix(needed))
    }

    /// Round `round`'s unlabeled problems (the gold answers are kept only for pair precision and
    /// the labeled modes).
    func unlabeled(round: Int) -> [Problem] {
        let index = fresh ? round - 1 : 0
        return Array(pool[(index * perRound)..<((index + 1) * perRound)])
    }
}
