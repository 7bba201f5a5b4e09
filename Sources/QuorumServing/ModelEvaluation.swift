import Dispatch
import Foundation
public import QuorumTraining
import QuorumTasks

/// One evaluation of a model folder, as `quorum eval` runs it: greedy and majority-of-k accuracy
/// on selected problems, in the fp32 model or a serving format, with each problem's outcome.
public struct ModelEvaluation: Sendable {
    /// The model folder.
    public var model: String
    /// The serving format to run in; nil: the fp32 model, or a quantized folder's own format.
    public var format: ServingFormat?
    /// The serving model's key/value cache precision.
    public var keyValues: KVPrecision = .float16
    /// Which problems.
    public var problems: ProblemSelection
    /// Samples per problem for the majority vote (0: greedy only).
    public var k = 8
    /// Seed of the samples' random streams.
    public var seed: UInt64 = 0
    /// Sampling temperature.
    public var temperature = 0.7
    /// Nucleus of the samples.
    public var topP = 0.9
    /// Most tokens per response.
    public var maxNewTokens = 160
    /// Sequences decoded together.
    public var batchSize = 128

    /// An evaluation of `model` on `problems`; the other settings keep SCPO's defaults.
    public init(model: String, format: ServingFormat?, problems: ProblemSelection) {
        self.model = model
        self.format = format
        self.problems = problems
    }

    /// What an evaluation measured, and on what.
    public struct Report: Encodable, Sendable {
        public var model: String
        /// What really ran: the serving format, or the plain fp32 model.
        public var format: String
        public var split: String?
        public var problems: String?
        public var result: EvaluationResult
        public var loadAverageStart: Double?
        public var loadAverageEnd: Double?

        enum CodingKeys: String, CodingKey {
            case model, format, split, problems, result
            case loadAverageStart = "load_average_start", loadAverageEnd = "load_average_end"
        }

        /// The result in one line.
        public var line: String {
            var line = format + ": " + String(format: "greedy %.1f %%", result.greedyAccuracy * 100)
            if let majority = result.majorityAccuracy {
                line += String(format: ", majority-of-%d %.1f %%", result.k, majority * 100)
            }
            return line
                + " on \(result.count) problems (\(String(format: "%.0f", result.seconds)) s, "
                + "\(String(format: "%.0f", result.tokensPerSecond)) generated tok/s)"
        }
    }

    /// Loads the model, evaluates it and returns the report and each problem's outcome.
    ///
    /// - Important: blocks the calling thread and uses every core; call it from a dedicated thread.
    /// - Throws: ``ServingError`` or ``TrainingError`` when the folder or the problems cannot be read.
    /// `progress` gets the start line; `steps`, when given, a line after each batch of sequences
    /// ("greedy 256/1000 sequences, 212 seq/s, ETA 4 s"), for a ``QuorumCore/ProgressLine``.
    public func run(progress: (String) -> Void = { _ in }, steps: ((String) -> Void)? = nil) throws
        -> (report: Report, outcomes: [ProblemOutcome])
    {
        let loaded = try ModelFolder.load(directory: model, format: format, keyValues: keyValues)
        let selected = try problems.problems(record: loaded.record)
        var evaluator = Evaluator(
            generator: loaded.generator, tokenizer: loaded.tokenizer, format: loaded.promptFormat,
            maxNewTokens: maxNewTokens, maxBatchSize: batchSize)
        if let steps {
            var phase = (name: "greedy", started: DispatchTime.now().uptimeNanoseconds)
            var last = phase.started
            evaluator.progress = { done, total in
                let now = DispatchTime.now().uptimeNanoseconds
                defer { last = now }
                // The greedy pass comes first (one sequence per problem); the k samples start where it ended.
                if total != selected.count && phase.name == "greedy" { phase = ("sampled", last) }
                let seconds = Double(now - phase.started) / 1e9
                let rate = Double(done) / max(seconds, 1e-9)
                steps(
                    "\(phase.name) \(done)/\(total) sequences, \(String(format: "%.0f", rate)) seq/s"
                        + (done < total ? ", ETA \(Int((Double(total - done) / max(rate, 1e-9)).rounded())) s" : ""))
            }
        }
        let loadStart = currentLoadAverage()
        progress(
            "evaluating \(selected.count) problems: greedy and \(k) samples each "
                + "(temperature \(temperature), top-p \(topP))…")
        let (result, outcomes) = evaluator.evaluate(selected, k: k, temperature: temperature, topP: topP, seed: seed)
        let report = Report(
            model: model, format: loaded.format?.rawValue ?? "fp32 (LlamaModel)",
            split: problems.file == nil ? problems.split.rawValue : nil, problems: problems.file, result: result,
            loadAverageStart: loadStart, loadAverageEnd: currentLoadAverage())
        return (report, outcomes)
    }
}
