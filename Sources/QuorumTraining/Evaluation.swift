import Dispatch
public import QuorumModel
public import QuorumTasks
public import QuorumTensor
public import QuorumTokenizer

/// Self-consistency voting over sampled answers (Wang et al. 2023), as evaluation uses it.
public enum MajorityVote {
    /// The most frequent answer among `answers` (nil entries — responses without a parsable answer —
    /// cast no vote), or nil when nobody voted.
    ///
    /// Ties are broken deterministically by first appearance: among the answers with the top count,
    /// the one that occurs earliest in `answers` wins. Samples are ordered by their stream number, so
    /// the same seed always picks the same winner.
    public static func winner(_ answers: [String?]) -> String? {
        var counts: [String: Int] = [:]
        var first: [String: Int] = [:]
        for (i, answer) in answers.enumerated() {
            guard let answer else { continue }
            counts[answer, default: 0] += 1
            if first[answer] == nil { first[answer] = i }
        }
        return counts.max { a, b in
            a.value != b.value ? a.value < b.value : first[a.key]! > first[b.key]!
        }?.key
    }

    /// How many of `answers` equal `answer`.
    public static func votes(for answer: String, in answers: [String?]) -> Int {
        answers.reduce(0) { $0 + ($1 == answer ? 1 : 0) }
    }
}

/// Accuracy of a model on labeled problems: greedy decoding, and majority-of-k over sampled answers.
public struct EvaluationResult: Sendable, Codable, Equatable {
    /// Problems evaluated.
    public var count: Int
    /// Samples per problem for the vote (0: greedy only).
    public var k: Int
    /// Sampling temperature of the k samples.
    public var temperature: Double
    /// Nucleus (top-p) of the k samples.
    public var topP: Double
    /// Seed of the samples' random streams.
    public var seed: UInt64
    /// Fraction answered correctly by greedy decoding.
    public var greedyAccuracy: Double
    /// Fraction whose majority-of-k answer is correct (nil when k = 0).
    public var majorityAccuracy: Double?
    /// Fraction of all k·count samples that are correct (nil when k = 0).
    public var sampleAccuracy: Double?
    /// Fraction of greedy responses without a parsable `#### N` answer.
    public var greedyNoAnswer: Double
    /// Fraction of problems whose majority answer is correct but whose greedy answer is wrong (nil when k = 0).
    public var majorityOnlyCorrect: Double?
    /// Mean share of the k votes the winning answer got (nil when k = 0).
    public var meanWinnerShare: Double?
    /// Tokens generated in all (greedy and sampled).
    public var generatedTokens: Int
    /// Wall-clock seconds.
    public var seconds: Double
    /// Generated tokens per second.
    public var tokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case count, k, temperature, topP = "top_p", seed, greedyAccuracy = "greedy_accuracy"
        case majorityAccuracy = "majority_accuracy", sampleAccuracy = "sample_accuracy"
        case greedyNoAnswer = "greedy_no_answer", majorityOnlyCorrect = "majority_only_correct"
        case meanWinnerShare = "mean_winner_share", generatedTokens = "generated_tokens", seconds
        case tokensPerSecond = "tokens_per_second"
    }
}

/// Per-problem outcome of an evaluation (for reports and tests).
public struct ProblemOutcome: Sendable, Codable, Equatable {
    /// The problem's id.
    public var id: String
    /// The gold answer.
    public var gold: String
    /// The greedy response's answer, if any.
    public var greedy: String?
    /// The k samples' answers, in stream order.
    public var samples: [String?]
    /// The majority answer, if any sample had an answer.
    public var majority: String?
}

/// Runs a model on problems in the shared ``PromptFormat``, batched through its
/// ``TokenGenerator/generate(prompts:parameters:streams:eosTokenId:maxBatchSize:stop:)``: the fp32
/// ``LlamaModel`` or a quantized serving model (any format).
///
/// - Important: blocks the calling thread and uses every core; call it from a dedicated thread.
public struct Evaluator {
    /// The model that generates.
    public let generator: any TokenGenerator
    /// Its tokenizer.
    public let tokenizer: BPETokenizer
    /// The prompt format.
    public var format: PromptFormat
    /// Most tokens generated per response (capped by the model's context).
    public var maxNewTokens: Int
    /// Sequences decoded together.
    public var maxBatchSize: Int
    /// Told after each batch of sequences: how many of the current call's are done, of how many.
    public var progress: ((_ done: Int, _ total: Int) -> Void)?

    /// An evaluator of any generator (e.g. a quantized serving model).
    public init(
        generator: any TokenGenerator, tokenizer: BPETokenizer, format: PromptFormat = .standard,
        maxNewTokens: Int = 160, maxBatchSize: Int = 128
    ) {
        self.generator = generator
        self.tokenizer = tokenizer
        self.format = format
        self.maxNewTokens = maxNewTokens
        self.maxBatchSize = maxBatchSize
    }

    /// An evaluator of an fp32 model.
    public init(
        model: LlamaModel<Float>, tokenizer: BPETokenizer, format: PromptFormat = .standard, maxNewTokens: Int = 160,
        maxBatchSize: Int = 128
    ) {
        self.init(
            generator: model, tokenizer: tokenizer, format: format, maxNewTokens: maxNewTokens,
            maxBatchSize: maxBatchSize)
    }

    /// Continues `prompts` (stream `streams[i]` for prompt i), stopping at EOS or after the `#### N`
    /// line; the room left in the model's context caps the length.
    public func generate(prompts: [[Int]], parameters: SamplingParameters, streams: [UInt64]) -> [Generation] {
        guard let longest = prompts.map(\.count).max() else { return [] }
        var parameters = parameters
        // The KV cache cannot grow past the model's context: leave room for the longest prompt.
        parameters.maxNewTokens = max(0, min(parameters.maxNewTokens, generator.config.maxPositionEmbeddings - longest))
        let tokenizer = tokenizer
        let format = format
        func run(_ range: Range<Int>) -> [Generation] {
            generator.generate(
                prompts: Array(prompts[range]), parameters: parameters, streams: Array(streams[range]),
                eosTokenId: tokenizer.eosID.map(Int.init), maxBatchSize: maxBatchSize
            ) { _, generated in format.isFinished(generated, tokenizer: tokenizer) }
        }
        guard let progress else { return run(0..<prompts.count) }
        // One batch at a time, to report between them; sampling is batch-invariant, so the
        // generations are the same as in one call.
        var generations: [Generation] = []
        generations.reserveCapacity(prompts.count)
        for start in stride(from: 0, to: prompts.count, by: max(maxBatchSize, 1)) {
            generations += run(start..<min(start + max(maxBatchSize, 1), prompts.count))
            progress(generations.count, prompts.count)
        }
        return generations
    }

    /// The greedy answer to each question (nil: no parsable answer), and the tokens generated.
    public func greedyAnswers(_ questions: [String]) -> (answers: [String?], tokens: Int) {
        let prompts = questions.map { format.promptTokens(question: $0, tokenizer: tokenizer) }
        let generations = generate(
            prompts: prompts, parameters: .greedy(maxNewTokens: maxNewTokens),
            streams: (0..<UInt64(prompts.count)).map { $0 })
        return (
            generations.map { format.answer(of: $0.tokens, tokenizer: tokenizer) },
            generations.reduce(0) { $0 + $1.tokens.count }
        )
    }

    /// `k` sampled answers to each problem. Sample j of a problem draws from its stream
    /// ``SampleStreams/stream(problemID:sample:)`` of `seed` — the rule the pipeline's workers follow —
    /// so a sample depends neither on batching nor on the other problems.
    public func sampledAnswers(
        _ problems: [(id: String, question: String)], k: Int, temperature: Double = 0.7, topP: Double = 0.9,
        seed: UInt64 = 0
    ) -> (answers: [[String?]], tokens: Int) {
        guard k > 0 else { return (problems.map { _ in [] }, 0) }
        let (prompts, streams) = format.samplePrompts(problems, k: k, tokenizer: tokenizer)
        let parameters = SamplingParameters(
            temperature: temperature, topP: topP, maxNewTokens: maxNewTokens, seed: seed)
        let generations = generate(prompts: prompts, parameters: parameters, streams: streams)
        let answers = generations.map { format.answer(of: $0.tokens, tokenizer: tokenizer) }
        return (
            (0..<problems.count).map { Array(answers[$0 * k..<($0 + 1) * k]) },
            generations.reduce(0) { $0 + $1.tokens.count }
        )
    }

    /// Greedy and majority-of-`k` accuracy on `problems` (SCPO's evaluation: k = 8, temperature 0.7,
    /// top-p 0.9), with each problem's outcome.
    public func evaluate(
        _ problems: [Problem], k: Int = 8, temperature: Double = 0.7, topP: Double = 0.9, seed: UInt64 = 0
    ) -> (result: EvaluationResult, outcomes: [ProblemOutcome]) {
        let start = DispatchTime.now().uptimeNanoseconds
        let questions = problems.map(\.question)
        let greedy = greedyAnswers(questions)
        let sampled = sampledAnswers(
            problems.map { ($0.id, $0.question) }, k: k, temperature: temperature, topP: topP, seed: seed)
        var outcomes: [ProblemOutcome] = []
        var greedyCorrect = 0
        var majorityCorrect = 0
        var samplesCorrect = 0
        var noAnswer = 0
        var majorityOnly = 0
        var winnerShare = 0.0
        for (i, problem) in problems.enumerated() {
            let gold = AnswerExtractor.normalize(problem.answer) ?? problem.answer
            let samples = sampled.answers[i]
            let majority = MajorityVote.winner(samples)
            let outcome = ProblemOutcome(
                id: problem.id, gold: gold, greedy: greedy.answers[i], samples: samples, majority: majority)
            outcomes.append(outcome)
            if outcome.greedy == nil { noAnswer += 1 }
            if outcome.greedy == gold { greedyCorrect += 1 }
            if majority == gold { majorityCorrect += 1 }
            if majority == gold && outcome.greedy != gold { majorityOnly += 1 }
            samplesCorrect += samples.reduce(0) { $0 + ($1 == gold ? 1 : 0) }
            if let majority, k > 0 { winnerShare += Double(MajorityVote.votes(for: majority, in: samples)) / Double(k) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let n = Double(max(problems.count, 1))
        let tokens = greedy.tokens + sampled.tokens
        let result = EvaluationResult(
            count: problems.count, k: k, temperature: temperature, topP: topP, seed: seed,
            greedyAccuracy: Double(greedyCorrect) / n, majorityAccuracy: k > 0 ? Double(majorityCorrect) / n : nil,
            sampleAccuracy: k > 0 ? Double(samplesCorrect) / (n * Double(k)) : nil,
            greedyNoAnswer: Double(noAnswer) / n, majorityOnlyCorrect: k > 0 ? Double(majorityOnly) / n : nil,
            meanWinnerShare: k > 0 ? winnerShare / n : nil, generatedTokens: tokens, seconds: seconds,
            tokensPerSecond: Double(tokens) / max(seconds, 1e-9))
        return (result, outcomes)
    }
}
