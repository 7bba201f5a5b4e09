public import Foundation
public import QuorumModel

/// The JSON record of one training run, written beside the weights as `training_record.json`.
public struct TrainingRecord: Sendable, Codable, Equatable {
    /// What kind of run made the checkpoint (`"sft"`).
    public var kind: String
    /// Version of this record's layout.
    public var formatVersion: Int
    /// The run's configuration.
    public var config: SFTConfig
    /// The prompt format the model was trained with (evaluation and sampling must use the same).
    public var promptFormat: PromptFormat
    /// The model's shape.
    public var model: LlamaConfig
    /// Parameters (the tied LM head counted once).
    public var parameters: Int
    /// Ids in the trained tokenizer.
    public var vocabulary: Int
    /// Training examples and their mean length in tokens (prompt + response).
    public var trainExamples: Int
    /// See ``trainExamples``.
    public var meanExampleTokens: Double
    /// Mean training loss (cross-entropy over response tokens) of every optimiser step.
    public var losses: [Double]
    /// Global gradient norm (before clipping) of every optimiser step.
    public var gradientNorms: [Double]
    /// The periodic dev evaluations.
    public var evaluations: [DevEvaluation]
    /// Wall-clock timings and throughput.
    public var timings: Timings
    /// When the run started and finished (ISO 8601, UTC).
    public var started: String
    /// See ``started``.
    public var finished: String
    /// Quantization-aware training stages (scheme and steps of each), `nil` for a floating-point run.
    public var quantStages: [QuantizationStage]? = nil

    /// One dev evaluation during training.
    public struct DevEvaluation: Sendable, Codable, Equatable {
        /// Optimiser steps done when it ran.
        public var step: Int
        /// Mean cross-entropy over the dev responses' tokens.
        public var loss: Double
        /// Greedy accuracy on the dev problems.
        public var greedyAccuracy: Double
        /// Dev problems evaluated.
        public var count: Int
        /// Seconds it took.
        public var seconds: Double

        /// An evaluation record.
        public init(step: Int, loss: Double, greedyAccuracy: Double, count: Int, seconds: Double) {
            self.step = step
            self.loss = loss
            self.greedyAccuracy = greedyAccuracy
            self.count = count
            self.seconds = seconds
        }

        enum CodingKeys: String, CodingKey {
            case step, loss, greedyAccuracy = "greedy_accuracy", count, seconds
        }
    }

    /// Where the time went.
    public struct Timings: Sendable, Codable, Equatable {
        /// Generating problems.
        public var dataSeconds: Double
        /// Training the tokenizer and tokenizing the examples.
        public var tokenizerSeconds: Double
        /// The optimiser steps alone (forward, backward, clipping, AdamW).
        public var trainSeconds: Double
        /// Dev evaluations during training.
        public var evalSeconds: Double
        /// Everything, start to finish (writing the checkpoint excluded).
        public var totalSeconds: Double
        /// Tokens run through training steps (prompt and response tokens).
        public var tokens: Int
        /// `tokens / trainSeconds`.
        public var tokensPerSecond: Double
        /// The 1-minute load average when the run started and when it finished (nil where unknown).
        public var loadAverageStart: Double?
        /// See ``loadAverageStart``.
        public var loadAverageEnd: Double?
        /// Processor cores available.
        public var cores: Int

        /// Timings from their parts.
        public init(
            dataSeconds: Double = 0, tokenizerSeconds: Double = 0, trainSeconds: Double = 0, evalSeconds: Double = 0,
            totalSeconds: Double = 0, tokens: Int = 0, tokensPerSecond: Double = 0, loadAverageStart: Double? = nil,
            loadAverageEnd: Double? = nil, cores: Int = ProcessInfo.processInfo.activeProcessorCount
        ) {
            self.dataSeconds = dataSeconds
            self.tokenizerSeconds = tokenizerSeconds
            self.trainSeconds = trainSeconds
            self.evalSeconds = evalSeconds
            self.totalSeconds = totalSeconds
            self.tokens = tokens
            self.tokensPerSecond = tokensPerSecond
            self.loadAverageStart = loadAverageStart
            self.loadAverageEnd = loadAverageEnd
            self.cores = cores
        }

        enum CodingKeys: String, CodingKey {
            case dataSeconds = "data_seconds", tokenizerSeconds = "tokenizer_seconds", trainSeconds = "train_seconds"
            case evalSeconds = "eval_seconds", totalSeconds = "total_seconds", tokens
            case tokensPerSecond = "tokens_per_second", loadAverageStart = "load_average_start"
            case loadAverageEnd = "load_average_end", cores
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind, formatVersion = "format_version", config, promptFormat = "prompt_format", model, parameters
        case vocabulary, trainExamples = "train_examples", meanExampleTokens = "mean_example_tokens", losses
        case gradientNorms = "gradient_norms", evaluations, timings, started, finished
        case quantStages = "quant_stages"
    }
}

/// The machine's 1-minute load average (Linux `/proc/loadavg`), or nil where it cannot be read.
public func currentLoadAverage() -> Double? {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
        let first = text.split(separator: " ").first
    else { return nil }
    return Double(first)
}

/// The current time as ISO 8601 in UTC.
func timestamp() -> String {
    ISO8601DateFormatter().string(from: Date())
}
