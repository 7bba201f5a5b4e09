import Foundation
public import QuorumModel
import QuorumTensor
import QuorumCore
import QuorumTraining

/// One optimiser step, as progress reports show it.
public struct SCPOStepReport: Sendable, Hashable, Codable {
    /// Epoch (from 1).
    public var epoch: Int
    /// Steps done in the whole run (from 1).
    public var step: Int
    /// Steps of the whole run.
    public var totalSteps: Int
    /// The step's means over its pairs.
    public var means: SCPOMeans
    /// The learning rate used.
    public var learningRate: Double
    /// Global gradient norm before clipping.
    public var gradientNorm: Double
    /// Seconds of training so far (reference scoring and evaluation excluded).
    public var elapsedSeconds: Double
}

/// What happened in one epoch.
public struct SCPOEpochRecord: Sendable, Hashable, Codable {
    /// The epoch (from 1).
    public var epoch: Int
    /// Optimiser steps in it.
    public var steps: Int
    /// Means over every pair of the epoch, measured during training (the weights change as it goes).
    public var train: SCPOMeans
    /// The dev metric after the epoch (nil without a dev split).
    public var devAccuracy: Double?
    /// Where the epoch's checkpoint was written, if it was.
    public var checkpoint: String?
    /// Seconds of training (evaluation and checkpointing excluded).
    public var trainSeconds: Double
    /// Seconds of dev evaluation.
    public var evalSeconds: Double

    enum CodingKeys: String, CodingKey {
        case epoch, steps, train, devAccuracy = "dev_accuracy", checkpoint, trainSeconds = "train_seconds"
        case evalSeconds = "eval_seconds"
    }
}

/// The JSON record of one SCPO (or baseline) run: settings, pairs, per-step and per-epoch trends,
/// the dev metric per epoch and the chosen epoch.
public struct SCPORecord: Sendable, Codable {
    /// Always `"scpo"` (the mode says which objective).
    public var kind = "scpo"
    /// Version of this record's layout.
    public var formatVersion = 1
    /// The run's settings.
    public var config: SCPOConfig
    /// The loss those settings give (β, α, preference term).
    public var loss: SCPOLoss
    /// The pairs read, used and dropped.
    public var pairs: PairCounts
    /// The model's shape and parameter count.
    public var model: LlamaConfig
    /// See ``model``.
    public var parameters: Int
    /// Mean reference log-probs of the used pairs, log M_t(y+) and log M_t(y−) (nil for LMSI).
    public var referenceChosenLogProb: Double
    /// See ``referenceChosenLogProb``.
    public var referenceRejectedLogProb: Double?
    /// Optimiser steps per epoch and in all.
    public var stepsPerEpoch: Int
    /// See ``stepsPerEpoch``.
    public var totalSteps: Int
    /// Warm-up steps of the schedule.
    public var warmupSteps: Int
    /// Per step: mean loss, reward margin (nil entries for LMSI are left out), reward accuracy,
    /// chosen and rejected log-prob, learning rate and gradient norm before clipping.
    public var stepLosses: [Double] = []
    /// See ``stepLosses``.
    public var stepRewardMargins: [Double] = []
    /// See ``stepLosses``.
    public var stepRewardAccuracies: [Double] = []
    /// See ``stepLosses``.
    public var stepChosenLogProbs: [Double] = []
    /// See ``stepLosses``.
    public var stepRejectedLogProbs: [Double] = []
    /// See ``stepLosses``.
    public var learningRates: [Double] = []
    /// See ``stepLosses``.
    public var gradientNorms: [Double] = []
    /// Each epoch.
    public var epochs: [SCPOEpochRecord] = []
    /// The dev metric of the starting model M_t (nil without a dev split).
    public var initialDevAccuracy: Double?
    /// The dev metric's name, e.g. `"greedy_accuracy"` (nil without a dev split).
    public var devMetric: String?
    /// The epoch chosen: the best dev metric (the earliest on ties), or the last without a dev split;
    /// 0 when ``SCPOConfig/keepStartUnlessBeaten`` kept M_t because no epoch beat it.
    public var bestEpoch: Int
    /// Whether the returned weights are the best epoch's (else the last epoch's).
    public var restoredBest: Bool
    /// Seconds spent scoring the reference log-probs, training, and evaluating.
    public var referenceSeconds: Double
    /// See ``referenceSeconds``.
    public var trainSeconds: Double
    /// See ``referenceSeconds``.
    public var evalSeconds: Double
    /// The 1-minute load average at the start and the end (nil where unknown).
    public var loadAverageStart: Double?
    /// See ``loadAverageStart``.
    public var loadAverageEnd: Double?
    /// Processor cores available.
    public var cores = ProcessInfo.processInfo.activeProcessorCount
    /// Where the run came from and went (set by the caller, e.g. the command line).
    public var sourceModel: String?
    /// See ``sourceModel``.
    public var pairsFile: String?
    /// When the run started and finished (ISO 8601, UTC).
    public var started: String
    /// See ``started``.
    public var finished: String

    enum CodingKeys: String, CodingKey {
        case kind, formatVersion = "format_version", config, loss, pairs, model, parameters
        case referenceChosenLogProb = "reference_chosen_logp", referenceRejectedLogProb = "reference_rejected_logp"
        case stepsPerEpoch = "steps_per_epoch", totalSteps = "total_steps", warmupSteps = "warmup_steps"
        case stepLosses = "step_losses", stepRewardMargins = "step_reward_margins"
        case stepRewardAccuracies = "step_reward_accuracies", stepChosenLogProbs = "step_chosen_logps"
        case stepRejectedLogProbs = "step_rejected_logps", learningRates = "learning_rates"
        case gradientNorms = "gradient_norms", epochs, initialDevAccuracy = "initial_dev_accuracy"
        case devMetric = "dev_metric", bestEpoch = "best_epoch", restoredBest = "restored_best"
        case referenceSeconds = "reference_seconds", trainSeconds = "train_seconds", evalSeconds = "eval_seconds"
        case loadAverageStart = "load_average_start", loadAverageEnd = "load_average_end", cores
        case sourceModel = "source_model", pairsFile = "pairs_file", started, finished
    }
}

/// What the trainer reports while it runs.
public enum SCPOEvent: Sendable {
    /// A phase starts (text for a person).
    case stage(String)
    /// An optimiser step finished.
    case step(SCPOStepReport)
    /// An epoch finished (after its evaluation and checkpoint).
    case epoch(SCPOEpochRecord)
}

/// The SCPO trainer (docs/papers.md §1 steps 6–7): epochs over the pairs in a seeded order, micro-batches
/// accumulated to an effective batch, AdamW with warm-up and cosine decay, gradient clipping, an
/// evaluation and a checkpoint after every epoch, and the best epoch chosen on a labeled dev split.
///
/// The reference model is the policy as it is when ``run(policy:pairs:evaluate:epochEnded:progress:)``
/// starts (M_t; the policy is initialised from it): pairs without reference log-probs are scored
/// with it before the first step.
///
/// - Important: `run` blocks its thread for the whole run and uses every core; call it from a
///   dedicated thread (QuorumTraining's `runOnDedicatedThread`), not from Swift's cooperative pool.
public struct SCPOTrainer: Sendable {
    /// The run's settings.
    public var config: SCPOConfig

    /// A trainer; the settings are validated when the run starts.
    public init(config: SCPOConfig) {
        self.config = config
    }

    /// Trains `policy` on `pairs`; returns the run's record.
    ///
    /// - Parameters:
    ///   - evaluate: the dev metric of the policy (higher is better), e.g. greedy accuracy on a
    ///     labeled dev split; called before training (M_t's value, recorded only) and after every
    ///     epoch. Without it the last epoch is the chosen one.
    ///   - epochEnded: called after each epoch's evaluation with the epoch number and the policy (to
    ///     write the epoch's checkpoint); returns where it wrote it, if anywhere.
    ///   - progress: step, epoch and stage reports.
    /// - Throws: ``SCPOError`` when the settings are invalid or there are no pairs; whatever
    ///   `evaluate` or `epochEnded` throw.
    public func run<Policy: SCPOPolicy>(
        policy: Policy, pairs inputPairs: [TokenizedPair], evaluate: ((Policy) throws -> Double)? = nil,
        epochEnded: ((Int, Policy) throws -> String?)? = nil, progress: (SCPOEvent) -> Void = { _ in }
    ) throws -> SCPORecord {
        try config.validate()
        guard !inputPairs.isEmpty else {
            throw SCPOError(
                "there are no pairs to train on; check the pairs file and the mode (\(config.mode.rawValue))")
        }
        let started = ISO8601DateFormatter().string(from: Date())
        let loadStart = currentLoadAverage()
        let model = policy.masterModel
        let loss = config.loss
        let withRejected = config.mode.needsRejected

        // Reference log-probs, once (M_t is frozen; the policy still equals it here).
        var pairs = inputPairs
        let referenceStart = DispatchTime.now().uptimeNanoseconds
        let unscored = pairs.indices.filter { pairs[$0].reference == nil }
        if !unscored.isEmpty {
            progress(.stage("scoring \(unscored.count) pairs with the reference model"))
            var subset = unscored.map { pairs[$0] }
            ReferenceScorer.score(
                &subset, with: policy, includeRejected: withRejected, pairsPerBatch: config.referenceBatch)
            for (i, index) in unscored.enumerated() { pairs[index].reference = subset[i].reference }
        }
        let referenceSeconds = Self.seconds(since: referenceStart)

        var evalNanos: UInt64 = 0
        var initialDev: Double?
        if let evaluate {
            progress(.stage("evaluating the starting model on the dev split"))
            let start = DispatchTime.now().uptimeNanoseconds
            initialDev = try evaluate(policy)
            evalNanos += DispatchTime.now().uptimeNanoseconds - start
        }

        let stepsPerEpoch = config.stepsPerEpoch(pairs: pairs.count)
        let totalSteps = stepsPerEpoch * config.epochs
        let warmup = config.warmupSteps(totalSteps: totalSteps)
        let schedule = LearningRateSchedule(
            peak: config.lr, minimum: config.minLR, warmupSteps: warmup, totalSteps: totalSteps)
        let optimizer = AdamW(
            model: model,
            settings: AdamW<Policy.Scalar>.Settings(beta2: config.beta2, weightDecay: config.weightDecay))
        var counts = PairCounts()
        counts.used = pairs.count
        var record = SCPORecord(
            config: config, loss: loss, pairs: counts, model: model.config, parameters: model.parameterCount,
            referenceChosenLogProb: pairs.reduce(0) { $0 + $1.reference!.chosen } / Double(pairs.count),
            referenceRejectedLogProb: withRejected
                ? pairs.reduce(0) { $0 + $1.reference!.rejected } / Double(pairs.count) : nil,
            stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps, warmupSteps: warmup,
            initialDevAccuracy: initialDev, bestEpoch: config.epochs, restoredBest: false,
            referenceSeconds: referenceSeconds, trainSeconds: 0, evalSeconds: 0, loadAverageStart: loadStart,
            started: started, finished: started)
        progress(
            .stage(
                "training \(config.mode.rawValue) on \(pairs.count) pairs: \(config.epochs) epochs × \(stepsPerEpoch) "
                    + "steps of \(config.batch) pairs (micro-batches of \(config.microBatch))"))

        var rng = SplitMix64(seed: config.seed, stream: 0x5C90)
        var trainNanos: UInt64 = 0
        var bestValue: Double?
        var bestParameters: [Policy.Scalar]?
        if config.keepStartUnlessBeaten, let initialDev {
            // M_t competes: an epoch must beat its dev metric to replace it (best epoch 0).
            bestValue = initialDev
            record.bestEpoch = 0
            bestParameters = model.parameters.array
        }
        var step = 0
        for epoch in 1...config.epochs {
            let epochStart = DispatchTime.now().uptimeNanoseconds
            var epochStatistics = SCPOStatistics()
            let order = Self.shuffled(pairs.count, using: &rng)
            for first in stride(from: 0, to: order.count, by: config.batch) {
                let stepStart = DispatchTime.now().uptimeNanoseconds
                let members = order[first..<min(order.count, first + config.batch)]
                model.zeroGradients()
                var stepStatistics = SCPOStatistics()
                for microFirst in stride(from: members.startIndex, to: members.endIndex, by: config.microBatch) {
                    let micro = members[microFirst..<min(members.endIndex, microFirst + config.microBatch)].map {
                        pairs[$0]
                    }
                    let result = Self.accumulateGradients(
                        of: micro, divisor: members.count, policy: policy, loss: loss)
                    stepStatistics.merge(result.statistics)
                }
                let norm = config.clip > 0 ? model.clipGradients(maxNorm: config.clip) : model.gradientNorm()
                let lr = schedule.rate(at: step)
                optimizer.update(model, lr: lr)
                step += 1
                trainNanos += DispatchTime.now().uptimeNanoseconds - stepStart
                epochStatistics.merge(stepStatistics)
                let means = stepStatistics.means
                record.stepLosses.append(means.loss)
                record.stepChosenLogProbs.append(means.chosenLogProb)
                if let margin = means.rewardMargin { record.stepRewardMargins.append(margin) }
                if let accuracy = means.rewardAccuracy { record.stepRewardAccuracies.append(accuracy) }
                if let rejected = means.rejectedLogProb { record.stepRejectedLogProbs.append(rejected) }
                record.learningRates.append(lr)
                record.gradientNorms.append(norm)
                progress(
                    .step(
                        SCPOStepReport(
                            epoch: epoch, step: step, totalSteps: totalSteps, means: means, learningRate: lr,
                            gradientNorm: norm, elapsedSeconds: Double(trainNanos) / 1e9)))
            }
            let epochTrain = Self.seconds(since: epochStart)
            var devValue: Double?
            var epochEval = 0.0
            if let evaluate {
                let start = DispatchTime.now().uptimeNanoseconds
                let value = try evaluate(policy)
                epochEval = Self.seconds(since: start)
                evalNanos += DispatchTime.now().uptimeNanoseconds - start
                devValue = value
                // Best epoch: the highest dev metric; the earliest epoch wins ties (closer to M_t).
                if bestValue.map({ value > $0 }) ?? true {
                    bestValue = value
                    record.bestEpoch = epoch
                    if config.restoreBest && epoch < config.epochs { bestParameters = model.parameters.array }
                }
            }
            let location = try epochEnded?(epoch, policy)
            let epochRecord = SCPOEpochRecord(
                epoch: epoch, steps: stepsPerEpoch, train: epochStatistics.means, devAccuracy: devValue,
                checkpoint: location, trainSeconds: epochTrain, evalSeconds: epochEval)
            record.epochs.append(epochRecord)
            progress(.epoch(epochRecord))
        }
        if (config.restoreBest || record.bestEpoch == 0) && record.bestEpoch < config.epochs, let bestParameters {
            bestParameters.withUnsafeBufferPointer {
                model.parameters.pointer.update(from: $0.baseAddress!, count: $0.count)
            }
            // A quantization-aware (ternary) policy re-derives its ternary weights from the restored ones.
            model.invalidateQuantizedWeights()
        }
        record.restoredBest = record.bestEpoch == config.epochs || config.restoreBest || record.bestEpoch == 0
        record.devMetric = evaluate == nil ? nil : "dev_accuracy"
        record.trainSeconds = Double(trainNanos) / 1e9
        record.evalSeconds = Double(evalNanos) / 1e9
        record.loadAverageEnd = currentLoadAverage()
        record.finished = ISO8601DateFormatter().string(from: Date())
        return record
    }

    /// Forward, loss and backward of one micro-batch: the policy's sequence log-probs of `micro`, the
    /// loss with every pair's terms divided by `divisor` (the optimiser step's whole batch size, so
    /// that micro-batches accumulate to the gradient of the step's mean loss), and its backward into
    /// the master model's gradients (added to what is there). Returns the micro-batch's statistics.
    ///
    /// - Precondition: every pair has its ``TokenizedPair/reference`` log-probs.
    /// - Important: blocks and uses every core.
    public static func accumulateGradients<Policy: SCPOPolicy>(
        of micro: [TokenizedPair], divisor: Int, policy: Policy, loss: SCPOLoss
    ) -> SCPOBatchLoss {
        let withRejected = loss.preferenceTerm
        let pass = policy.forward(ReferenceScorer.batch(micro, includeRejected: withRejected))
        let logProbs = pass.sequenceLogProbs
        let counts = pass.scoredCounts
        let n = micro.count
        let inputs = micro.enumerated().map { i, pair in
            guard let reference = pair.reference else {
                preconditionFailure("pair \(pair.problemID) has no reference log-probs; score it first")
            }
            return PairLogProbs(
                policyChosen: Double(logProbs[i]), policyRejected: withRejected ? Double(logProbs[n + i]) : nil,
                referenceChosen: reference.chosen, referenceRejected: reference.rejected,
                chosenTokens: counts[i], weight: pair.weight)
        }
        let result = loss.batch(inputs, divisor: divisor)
        var gradients = result.dChosen
        if withRejected { gradients += result.dRejected }
        policy.backward(pass, sequenceGradients: gradients.map { Policy.Scalar($0) })
        return result
    }

    /// A seeded permutation of 0..<count (Fisher–Yates on SplitMix64, stable across Swift versions).
    static func shuffled(_ count: Int, using rng: inout SplitMix64) -> [Int] {
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return order
    }

    static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
