import Foundation
import QuorumCore
public import QuorumServing
import QuorumTasks
import QuorumTokenizer
public import QuorumTraining
import QuorumVoting

/// k sampled responses per problem from a model folder, as the rows `quorum vote` reads: what
/// `quorum task sample` writes. The responses are drawn exactly as a pipeline worker draws them
/// (the same ``ModelSampler``, the same per-problem random streams), so sampling, voting and
/// training by hand reproduce a pipeline round.
public struct TaskSampling: Sendable {
    /// The model folder.
    public var model: String
    /// The serving format to sample in; nil: the fp32 model, or a quantized folder's own format.
    public var format: ServingFormat?
    /// Which problems.
    public var problems: ProblemSelection
    /// Samples per problem.
    public var k = 8
    /// Sampling temperature.
    public var temperature = 0.7
    /// Nucleus of the samples.
    public var topP = 0.9
    /// Seed of the samples' random streams.
    public var seed: UInt64 = 0
    /// Most tokens per response.
    public var maxNewTokens = 160
    /// Sequences decoded together.
    public var batchSize = 128
    /// Whether each problem's gold answer goes into its rows (labeled data for semi-supervised pairs).
    public var gold = false

    /// Sampling of `model` on `problems`; the other settings keep SCPO's defaults.
    public init(model: String, format: ServingFormat?, problems: ProblemSelection) {
        self.model = model
        self.format = format
        self.problems = problems
    }

    /// What a sampling run produced.
    public struct Summary: Encodable, Sendable {
        public var out: String
        public var problems: Int
        public var k: Int
        public var responses: Int
        public var answered: Int
        public var sampleAccuracy: Double
        public var generatedTokens: Int
        public var seconds: Double
        public var loadAverageStart: Double?
        public var loadAverageEnd: Double?

        enum CodingKeys: String, CodingKey {
            case out, problems, k, responses, answered, sampleAccuracy = "sample_accuracy"
            case generatedTokens = "generated_tokens", seconds, loadAverageStart = "load_average_start"
            case loadAverageEnd = "load_average_end"
        }

        /// The summary in one line.
        public var line: String {
            "wrote \(responses) responses (\(problems) problems × \(k)) to \(out) in \(Int(seconds)) s; "
                + String(format: "sample accuracy %.1f %%", sampleAccuracy * 100)
        }
    }

    /// Samples and writes the rows as JSONL to `out`.
    ///
    /// - Throws: ``ServingError`` or ``TrainingError`` when the folder or the problems cannot be read,
    ///   or the output cannot be written.
    /// `progress`, when given, is told after each batch of problems how many are done, of how many
    /// (the samples are the same as in one call: each problem's samples have their own streams).
    public func run(writingTo out: String, progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil)
        async throws -> Summary
    {
        let (model, format, problems, batchSize, maxNewTokens) = (
            self.model, self.format, self.problems, self.batchSize, self.maxNewTokens
        )
        let (sampler, tokenizer, selected) = try await runOnDedicatedThread {
            () throws -> (ModelSampler, BPETokenizer, [Problem]) in
            let loaded = try ModelFolder.load(directory: model, format: format)
            let sampler = ModelSampler(
                generator: loaded.generator, tokenizer: loaded.tokenizer, format: loaded.promptFormat,
                maxNewTokens: maxNewTokens, maxBatchSize: batchSize)
            return (sampler, loaded.tokenizer, try problems.problems(record: loaded.record))
        }
        let loadStart = currentLoadAverage()
        let start = ContinuousClock.now
        let questions = selected.map { ($0.id, $0.question) }
        var texts: [[String]] = []
        let chunk = progress == nil ? max(questions.count, 1) : max(1, batchSize / max(k, 1))
        for first in stride(from: 0, to: questions.count, by: chunk) {
            texts += try await sampler.sample(
                Array(questions[first..<min(first + chunk, questions.count)]), k: k, temperature: temperature,
                topP: topP, seed: seed)
            progress?(texts.count, questions.count)
        }
        let seconds = ContinuousClock.now - start
        var rows: [ProblemSamples] = []
        var (correct, answered, tokens) = (0, 0, 0)
        for (problem, responses) in zip(selected, texts) {
            let goldAnswer = AnswerExtractor.normalize(problem.answer) ?? problem.answer
            let sampled = responses.map {
                SampledResponse(problemID: problem.id, prompt: problem.question, extractingFrom: $0)
            }
            answered += sampled.filter { $0.answer != nil }.count
            correct += sampled.filter { $0.answer == goldAnswer }.count
            tokens += responses.reduce(0) { $0 + tokenizer.encode($1, parseSpecialTokens: false).count }
            rows.append(
                ProblemSamples(
                    problemID: problem.id, prompt: problem.question, gold: gold ? goldAnswer : nil, responses: sampled))
        }
        do { try SamplesJSONL.encode(rows).write(to: URL(fileURLWithPath: out)) } catch {
            throw TrainingError("cannot write \(out): \(error.localizedDescription); check the folder is writable")
        }
        let count = selected.count * k
        return Summary(
            out: out, problems: selected.count, k: k, responses: count, answered: answered,
            sampleAccuracy: Double(correct) / Double(max(count, 1)), generatedTokens: tokens,
            seconds: Double(seconds.components.seconds) + Double(seconds.components.attoseconds) * 1e-18,
            loadAverageStart: loadStart, loadAverageEnd: currentLoadAverage())
    }
}
