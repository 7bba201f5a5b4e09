import Foundation

extension SFTEvent: CustomStringConvertible {
    /// The event as one progress line: a stage, a step (loss, learning rate, gradient norm,
    /// tokens/s, elapsed time and ETA) or a dev evaluation.
    public var description: String {
        switch self {
        case .stage(let text):
            return text + "…"
        case .step(let s):
            return (s.quantization.map { "[\($0)] " } ?? "")
                + String(
                    format: "step %d/%d  loss %.4f (avg %.4f)  lr %.2e  |g| %.2f  %.0f tok/s  elapsed %@  ETA %@",
                    s.step, s.totalSteps, s.loss, s.smoothedLoss, s.learningRate, s.gradientNorm, s.tokensPerSecond,
                    Duration.clock(s.elapsedSeconds), Duration.clock(s.etaSeconds))
        case .evaluation(let e):
            let majority = e.majorityAccuracy.map {
                String(
                    format: ", majority-of-%d %.1f %% (margin %+.1f)", e.k ?? 0, $0 * 100,
                    ($0 - e.greedyAccuracy) * 100)
            }
            return String(
                format: "dev @ step %d: loss %.4f, greedy accuracy %.1f %%%@ of %d (%.1f s)", e.step, e.loss,
                e.greedyAccuracy * 100, majority ?? "", e.count, e.seconds)
        }
    }
}

extension Duration {
    /// `seconds` as a clock reading, `h:mm:ss` or `m:ss`; `?` when it is not a finite, non-negative number.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let total = Int(seconds.rounded())
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}

/// What a finished seed-model run produced, as `quorum train sft` shows it.
public struct SFTSummary: Encodable, Sendable {
    public var out: String
    public var parameters: Int
    public var vocabulary: Int
    public var steps: Int
    /// Mean loss of the last 20 steps.
    public var finalLoss: Double
    public var trainSeconds: Double
    public var totalSeconds: Double
    public var tokensPerSecond: Double
    public var loadAverageStart: Double?
    public var loadAverageEnd: Double?
    public var dev: TrainingRecord.DevEvaluation?
    public var config: SFTConfig
    /// Quantization-aware training stages, when there were any.
    public var quantStages: [QuantizationStage]?

    /// The summary of the run `record` describes, saved in `out`.
    public init(record: TrainingRecord, out: String) {
        self.out = out
        parameters = record.parameters
        vocabulary = record.vocabulary
        steps = record.losses.count
        finalLoss = record.losses.suffix(20).reduce(0, +) / Double(max(1, min(20, record.losses.count)))
        trainSeconds = record.timings.trainSeconds
        totalSeconds = record.timings.totalSeconds
        tokensPerSecond = record.timings.tokensPerSecond
        loadAverageStart = record.timings.loadAverageStart
        loadAverageEnd = record.timings.loadAverageEnd
        dev = record.evaluations.last
        config = record.config
        quantStages = record.quantStages
    }

    /// The summary in one line.
    public var line: String {
        var line = "wrote \(out): \(parameters) parameters, \(steps) steps in "
        line += "\(Duration.clock(trainSeconds)) (\(Int(tokensPerSecond)) tok/s), "
        line += "loss \(String(format: "%.3f", finalLoss))"
        if let dev { line += ", dev greedy \(String(format: "%.1f", dev.greedyAccuracy * 100)) %" }
        return line
    }

    enum CodingKeys: String, CodingKey {
        case out, parameters, vocabulary, steps, finalLoss = "final_loss", trainSeconds = "train_seconds"
        case totalSeconds = "total_seconds", tokensPerSecond = "tokens_per_second"
        case loadAverageStart = "load_average_start", loadAverageEnd = "load_average_end", dev, config
        case quantStages = "quant_stages"
    }
}
