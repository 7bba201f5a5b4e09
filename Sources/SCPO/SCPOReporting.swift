import Foundation
import QuorumTasks
public import QuorumTraining

extension SCPOEvent: CustomStringConvertible {
    /// The event as one progress line: the stage's text, a step's loss, reward margin and accuracy,
    /// log-probs, learning rate and gradient norm, or an epoch's result.
    public var description: String {
        switch self {
        case .stage(let text):
            return text
        case .step(let s):
            let m = s.means
            var text = String(format: "epoch %d step %d/%d  loss %.4f", s.epoch, s.step, s.totalSteps, m.loss)
            if let margin = m.rewardMargin, let accuracy = m.rewardAccuracy {
                text += String(format: "  margin %+.3f  acc %.2f", margin, accuracy)
            }
            text += String(format: "  logp+ %.2f", m.chosenLogProb)
            if let rejected = m.rejectedLogProb { text += String(format: "  logp- %.2f", rejected) }
            return text
                + String(format: "  lr %.2e  |g| %.3f  %.0f s", s.learningRate, s.gradientNorm, s.elapsedSeconds)
        case .epoch(let e):
            var text = String(format: "epoch %d done: loss %.4f", e.epoch, e.train.loss)
            if let margin = e.train.rewardMargin, let accuracy = e.train.rewardAccuracy {
                text += String(format: ", reward margin %+.3f, reward accuracy %.2f", margin, accuracy)
            }
            if let dev = e.devAccuracy { text += String(format: ", dev %.1f %%", dev * 100) }
            if let folder = e.checkpoint { text += " → \(folder)" }
            return text
        }
    }
}

extension SCPORecord {
    /// The run in one line for a person: mode, pairs, steps, the kept epoch and its dev accuracy
    /// beside M_t's, and the last epoch's reward margin and accuracy.
    public func summary(out: String) -> String {
        var line = "wrote \(out) (\(config.mode.rawValue), \(pairs.used) pairs, "
        line += "\(totalSteps) steps in \(String(format: "%.0f", trainSeconds)) s): epoch \(bestEpoch)"
        if let dev = epochs.first(where: { $0.epoch == bestEpoch })?.devAccuracy {
            line += ", dev \(devMetric ?? "accuracy") " + String(format: "%.1f %%", dev * 100)
            if let initial = initialDevAccuracy { line += String(format: " (M_t %.1f %%)", initial * 100) }
        }
        if let last = epochs.last?.train, let margin = last.rewardMargin, let accuracy = last.rewardAccuracy {
            line += String(format: "; last epoch reward margin %.3f, reward accuracy %.2f", margin, accuracy)
        }
        return line
    }
}

extension SCPODevSplit {
    /// The generated dev split M_t was trained beside: `count` problems from the generator settings
    /// and data seed in its training record (defaults when it has none).
    ///
    /// - Throws: ``TrainingError`` when the recorded generator settings cannot make dev problems.
    public static func generated(
        for record: TrainingRecord?, count: Int, k: Int = 0, maxNewTokens: Int = 160
    ) throws -> SCPODevSplit {
        let problems = try ProblemSelection(file: nil, count: count, split: .dev).problems(record: record)
        return SCPODevSplit(problems: problems, k: k, maxNewTokens: maxNewTokens)
    }
}

/// One line of `reference_logprobs.jsonl`: a used pair's reference log-probs and lengths.
public struct ScoredPairLine: Encodable, Sendable {
    public var problemID: String
    public var weight: Double
    public var promptTokens: Int
    public var chosenTokens: Int
    public var rejectedTokens: Int
    public var referenceChosenLogProb: Double
    public var referenceRejectedLogProb: Double?

    /// The line of a scored pair.
    public init(_ pair: TokenizedPair) {
        problemID = pair.problemID
        weight = pair.weight
        promptTokens = pair.prompt.count
        chosenTokens = pair.chosen.count
        rejectedTokens = pair.rejected.count
        referenceChosenLogProb = pair.reference?.chosen ?? 0
        referenceRejectedLogProb = pair.reference?.rejected
    }

    enum CodingKeys: String, CodingKey {
        case problemID = "problem_id", weight, promptTokens = "prompt_tokens", chosenTokens = "chosen_tokens"
        case rejectedTokens = "rejected_tokens", referenceChosenLogProb = "reference_chosen_logp"
        case referenceRejectedLogProb = "reference_rejected_logp"
    }
}
