import Foundation
public import QuorumModel
public import QuorumTensor
public import QuorumTasks
public import QuorumTokenizer
public import QuorumTraining
public import QuorumVoting
import QuorumCore

/// The labeled dev split a round chooses its epoch on, and how it is scored.
public struct SCPODevSplit: Sendable {
    /// The labeled problems.
    public var problems: [Problem]
    /// 0: greedy accuracy; k > 0: majority-of-k accuracy at SCPO's sampling settings (T 0.7, top-p
    /// 0.9), k times slower.
    public var k: Int
    /// Most tokens per dev answer.
    public var maxNewTokens: Int

    /// A dev split.
    public init(problems: [Problem], k: Int = 0, maxNewTokens: Int = 160) {
        self.problems = problems
        self.k = k
        self.maxNewTokens = maxNewTokens
    }

    /// The metric's name in records: `greedy` or `majority_of_K`.
    public var metric: String { k > 0 ? "majority_of_\(k)" : "greedy" }

    /// The metric of `model` on the split, in [0, 1].
    ///
    /// - Important: blocks and uses every core.
    public func accuracy(of model: LlamaModel<Float>, tokenizer: BPETokenizer, format: PromptFormat, seed: UInt64)
        -> Double
    {
        let evaluator = Evaluator(model: model, tokenizer: tokenizer, format: format, maxNewTokens: maxNewTokens)
        let result = evaluator.evaluate(problems, k: k, seed: seed).result
        return k > 0 ? result.majorityAccuracy ?? 0 : result.greedyAccuracy
    }
}

/// What one round produced: the next model and the run's record.
public struct SCPORoundResult {
    /// M_{t+1}: the chosen epoch's weights (or M_t's, when ``SCPOConfig/keepStartUnlessBeaten`` kept
    /// it), the tokenizer, and M_t's training record continued by this run.
    public var checkpoint: Checkpoint
    /// The run: losses, reward margins, dev metric per epoch, the chosen epoch.
    public var record: SCPORecord
    /// The pairs as trained, with their reference log-probs.
    public var scoredPairs: [TokenizedPair]
}

/// One SCPO round (or a baseline's) as a library call (docs/papers.md §1 steps 6–7): M_{t+1} from M_t
/// and the round's preference pairs. The pairs are tokenized in M_t's prompt format, scored once
/// by the frozen reference M_t, trained on with ``SCPOTrainer``, and the epoch is chosen on the
/// labeled dev split. `quorum train scpo`, the pipeline's trainer stage and the experiment runner
/// all call this.
///
/// - Important: ``train(from:pairs:epochFolders:sourceModel:progress:)`` blocks its thread for the
///   whole run and uses every core: call it from a dedicated thread (`runOnDedicatedThread`).
public struct SCPORound: Sendable {
    /// The trainer's settings (mode, β, α, learning rate, epochs, …).
    public var config: SCPOConfig
    /// The dev split the epoch is chosen on (nil: the last epoch is kept).
    public var dev: SCPODevSplit?

    /// A round with these settings.
    public init(config: SCPOConfig, dev: SCPODevSplit?) {
        self.config = config
        self.dev = dev
    }

    /// The name of the round's record file in a checkpoint folder (`training_record.json` keeps
    /// M_t's SFT record, which carries the prompt format).
    public static let recordFile = "scpo_record.json"

    /// Trains M_{t+1} from `start` (M_t, modified in place: it becomes the policy) on `pairs`.
    ///
    /// - Parameters:
    ///   - epochFolders: when given, every epoch's checkpoint is written to `epochFolders/epoch-N`.
    ///   - sourceModel: where M_t came from, for the records.
    ///   - progress: stage, step and epoch reports.
    /// - Throws: ``SCPOError`` when no pair can be trained on in the mode or the settings are
    ///   invalid; ``TrainingError`` when an epoch's checkpoint cannot be written.
    public func train(
        from start: Checkpoint, pairs: [PreferencePair], epochFolders: String? = nil, sourceModel: String? = nil,
        progress: (SCPOEvent) -> Void = { _ in }
    ) throws -> SCPORoundResult {
        // The dev evaluation reports through `progress`; it runs only inside this call.
        try withoutActuallyEscaping(progress) { progress in
            try train(from: start, pairs: pairs, epochFolders: epochFolders, sourceModel: sourceModel, report: progress)
        }
    }

    private func train(
        from start: Checkpoint, pairs: [PreferencePair], epochFolders: String?, sourceModel: String?,
        report progress: @escaping (SCPOEvent) -> Void
    ) throws -> SCPORoundResult {
        try config.validate()
        let policy = start.model
        let format = start.promptFormat
        let (tokenized, counts) = PairEncoding.encode(
            pairs, mode: config.mode, tokenizer: start.tokenizer, format: format,
            maxPositions: policy.config.maxPositionEmbeddings)
        progress(
            .stage(
                "pairs: \(counts.read) read, \(counts.used) used (\(counts.selfConsistency) vote, \(counts.gold) gold), "
                    + "\(counts.droppedByMode) not for mode \(config.mode.rawValue), \(counts.droppedTooLong) too long"))
        guard !tokenized.isEmpty else {
            throw SCPOError(
                "none of the \(counts.read) pairs can be trained on in mode \(config.mode.rawValue)"
                    + (config.mode == .irpoGold ? " (irpo-gold needs pairs whose source is gold)" : ""))
        }

        // Reference log-probs, once per round (M_t is frozen; the policy still equals it here).
        let referenceStart = Date()
        var scored = tokenized
        progress(.stage("scoring \(scored.count) pairs with the reference model M_t"))
        ReferenceScorer.score(
            &scored, with: policy, includeRejected: config.mode.needsRejected, pairsPerBatch: config.referenceBatch)
        let referenceSeconds = Date().timeIntervalSince(referenceStart)

        let evaluate: ((LlamaModel<Float>) throws -> Double)? = dev.flatMap { dev in
            dev.problems.isEmpty
                ? nil
                : { model in
                    let accuracy = dev.accuracy(
                        of: model, tokenizer: start.tokenizer, format: format, seed: config.seed)
                    progress(
                        .stage(
                            "dev \(dev.metric) accuracy " + String(format: "%.1f %%", accuracy * 100)
                                + " on \(dev.problems.count) problems"))
                    return accuracy
                }
        }
        let carried = { (record: String, finished: String) in
            start.record?.continued(
                by: TrainingRecord.LaterRun(
                    kind: config.mode.rawValue, record: record, sourceModel: sourceModel ?? "", finished: finished))
        }
        var record = try SCPOTrainer(config: config).run(
            policy: policy, pairs: scored, evaluate: evaluate,
            epochEnded: { epoch, model in
                guard let epochFolders else { return nil }
                let folder = epochFolders + "/epoch-\(epoch)"
                let finished = ISO8601DateFormatter().string(from: Date())
                try Checkpoint(model: model, tokenizer: start.tokenizer, record: carried("../" + Self.recordFile, finished))
                    .save(directory: folder)
                return folder
            },
            progress: progress)
        record.pairs = counts
        record.referenceSeconds = referenceSeconds
        record.sourceModel = sourceModel
        if let dev, evaluate != nil { record.devMetric = dev.metric + "_accuracy" }
        let next = Checkpoint(
            model: policy, tokenizer: start.tokenizer, record: carried(Self.recordFile, record.finished))
        return SCPORoundResult(checkpoint: next, record: record, scoredPairs: scored)
    }

    /// The file of each used pair's reference log-probs (``ScoredPairLine``s), when asked for.
    public static let referenceLogProbsFile = "reference_logprobs.jsonl"

    /// Writes a round's result as a checkpoint folder: the model, tokenizer, training record and
    /// `scpo_record.json`, and with `referenceLogProbs` each used pair's log M_t of its responses.
    ///
    /// - Throws: ``TrainingError`` naming the file that could not be written.
    public static func save(_ result: SCPORoundResult, directory: String, referenceLogProbs: Bool = false) throws {
        try result.checkpoint.save(directory: directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try write(encoder.encode(result.record), to: directory + "/" + recordFile)
        if referenceLogProbs {
            try write(
                PairsJSONL.encode(result.scoredPairs.map(ScoredPairLine.init)),
                to: directory + "/" + referenceLogProbsFile)
        }
    }

    /// Writes `data` to `path`, replacing it.
    private static func write(_ data: Data, to path: String) throws {
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw TrainingError("cannot write \(path): \(error.localizedDescription); check the folder is writable")
        }
    }
}
