public import Foundation
public import QuorumModel

/// The JSON record of one training run, written beside the weights as `training_record.json`.
///
/// The fields describe the supervised (SFT) run the weights started from. A folder whose weights a
/// later run changed (SCPO or a baseline, `quorum train scpo`) says so in ``producedBy`` and
/// ``laterRuns``; older folders without these fields load unchanged.
public struct TrainingRecord: Sendable, Codable, Equatable {
    /// What kind of run this record's fields describe (`"sft"`).
    public var kind: String
    /// The kind of run that wrote the weights in the folder (`"sft"`, `"scpo"`, `"irpo-gold"`, …);
    /// nil (older records) means ``kind``.
    public var producedBy: String?
    /// The runs after the SFT run that changed the weights, oldest first (nil: none).
    public var laterRuns: [LaterRun]?

    /// The kind of run that wrote the weights in the folder.
    public var weightsFrom: String { producedBy ?? kind }

    /// A run that changed the weights after the SFT run this record describes.
    public struct LaterRun: Sendable, Codable, Equatable {
        /// Its kind: the SCPO mode (`scpo`, `scpo-unweighted`, `irpo-gold`, `lmsi`).
        public var kind: String
        /// The file in the same folder that records it (e.g. `scpo_record.json`).
        public var record: String
        /// The checkpoint folder it started from.
        public var sourceModel: String
        /// When it finished (ISO 8601, UTC).
        public var finished: String

        /// A later run from its fields.
        public init(kind: String, record: String, sourceModel: String, finished: String) {
            self.kind = kind
            self.record = record
            self.sourceModel = sourceModel
            self.finished = finished
        }

        enum CodingKeys: String, CodingKey {
            case kind, record, sourceModel = "source_model", finished
        }
    }

    /// This record for a folder whose weights `run` changed afterwards: ``producedBy`` becomes the
    /// run's kind and the run is appended to ``laterRuns``. A record carried over from an
    /// SCPO-trained folder still lists the earlier runs, so a chain of rounds stays traceable.
    public func continued(by run: LaterRun) -> TrainingRecord {
        var record = self
        record.producedBy = run.kind
        record.laterRuns = (laterRuns ?? []) + [run]
        return record
    }
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
    /// The step whose weights the folder holds, when ``SFTConfig/select`` chose an earlier one than
    /// the last (nil: the last step's; absent in older records).
    public var selectedStep: Int?
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
        /// Majority-of-``k`` accuracy (temperature 0.7, top-p 0.9), when ``SFTConfig/devK`` > 0.
        public var majorityAccuracy: Double?
        /// Samples per problem of ``majorityAccuracy``.
        public var k: Int?
        /// Dev problems evaluated.
        public var count: Int
        /// Seconds it took.
        public var seconds: Double

        /// An evaluation record.
        public init(
            step: Int, loss: Double, greedyAccuracy: Double, count: Int, seconds: Double,
            majorityAccuracy: Double? = nil, k: Int? = nil
        ) {
            self.step = step
            self.loss = loss
            self.greedyAccuracy = greedyAccuracy
            self.majorityAccuracy = majorityAccuracy
            self.k = k
            self.count = count
            self.seconds = seconds
        }

        enum CodingKeys: String, CodingKey {
            case step, loss, greedyAccuracy = "greedy_accuracy", count, seconds
            case majorityAccuracy = "majority_accuracy", k
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
        case kind, producedBy = "produced_by", laterRuns = "later_runs", formatVersion = "format_version", config
        case promptFormat = "prompt_format", model, parameters
        case vocabulary, trainExamples = "train_examples", meanExampleTokens = "mean_example_tokens", losses
        case gradientNorms = "gradient_norms", evaluations, selectedStep = "selected_step", timings, started, finished
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
