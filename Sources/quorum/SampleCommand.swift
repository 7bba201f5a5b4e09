import ArgumentParser
import Foundation
import QuorumModel
import QuorumTasks
import QuorumTraining
import QuorumVoting
import QuorumCore

extension TaskCommand {
    /// `quorum task sample`: k sampled responses per problem, as the rows `quorum vote` reads.
    struct Sample: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sample k responses per problem from a checkpoint and write them as `quorum vote` rows.",
            discussion: """
                Each line of --out is {"problem_id","prompt","response","answer","gold"}: the prompt is the \
                question, the response the generated solution text, the answer its extracted "#### N" (null \
                when there is none). "gold" is written only with --gold (then `quorum vote --mode semi` \
                makes gold pairs); without it the rows are unlabeled, as SCPO's self-consistency round uses \
                them. Sample j of problem i draws from stream i*k + j of --seed, so the file does not depend \
                on batching. Problems come from --problems (JSONL) or are generated like `quorum task \
                generate` (knobs default to the checkpoint's training run).
                """)

        @Option(help: "The checkpoint folder.") var model: String
        @Option(help: "Which split to generate: train, dev or test.") var split = "train"
        @Option(help: "How many problems.") var count = 300
        @OptionGroup var knobs: GeneratorOptions
        @Option(help: "Sample these problems (JSONL) instead of generating a split.") var problems: String?
        @Option(help: "Samples per problem.") var k = 8
        @Option(help: "Sampling temperature.") var temperature = 0.7
        @Option(help: "Nucleus (top-p) of the samples.") var topP = 0.9
        @Option(help: "Seed of the samples' random streams.") var seed: UInt64 = 0
        @Option(help: "Most tokens per response.") var maxNewTokens = 160
        @Option(help: "Sequences decoded together.") var batchSize = 128
        @Flag(help: "Write each problem's gold answer into its rows (labeled data).") var gold = false
        @Option(help: "The JSONL file to write.") var out: String
        @Flag(help: "Print a JSON summary.") var json = false

        func validate() throws {
            guard DataSplit(rawValue: split) != nil else {
                throw ValidationError("unknown split \"\(split)\": use --split train, dev or test")
            }
            guard count > 0, k > 0 else { throw ValidationError("--count and --k must be at least 1") }
            guard temperature >= 0, topP > 0, topP <= 1 else {
                throw ValidationError("need --temperature >= 0 and 0 < --top-p <= 1")
            }
            guard maxNewTokens > 0, batchSize > 0 else {
                throw ValidationError("--max-new-tokens and --batch-size must be positive")
            }
        }

        func run() async throws {
            let options = self
            let summary = try await runOnDedicatedThread { () throws -> SampleSummary in
                let checkpoint = try Checkpoint.load(directory: options.model)
                let problems = try options.loadProblems(record: checkpoint.record)
                let format = checkpoint.promptFormat
                let tokenizer = checkpoint.tokenizer
                let evaluator = Evaluator(
                    model: checkpoint.model, tokenizer: tokenizer, format: format,
                    maxNewTokens: options.maxNewTokens, maxBatchSize: options.batchSize)
                let loadStart = currentLoadAverage()
                let start = Date()
                let prompts = problems.map { format.promptTokens(question: $0.question, tokenizer: tokenizer) }
                let repeated = prompts.flatMap { Array(repeating: $0, count: options.k) }
                let generations = evaluator.generate(
                    prompts: repeated,
                    parameters: SamplingParameters(
                        temperature: options.temperature, topP: options.topP, maxNewTokens: options.maxNewTokens,
                        seed: options.seed),
                    streams: (0..<UInt64(repeated.count)).map { $0 })
                var rows: [ProblemSamples] = []
                var correct = 0
                var answered = 0
                for (index, generation) in generations.enumerated() {
                    let problem = problems[index / options.k]
                    let answer = format.answer(of: generation.tokens, tokenizer: tokenizer)
                    let goldAnswer = AnswerExtractor.normalize(problem.answer) ?? problem.answer
                    if answer != nil { answered += 1 }
                    if answer == goldAnswer { correct += 1 }
                    if index % options.k == 0 {
                        rows.append(
                            ProblemSamples(
                                problemID: problem.id, prompt: problem.question,
                                gold: options.gold ? goldAnswer : nil, responses: []))
                    }
                    rows[rows.count - 1].responses.append(
                        SampledResponse(
                            problemID: problem.id, prompt: problem.question,
                            response: format.responseText(generation.tokens, tokenizer: tokenizer), answer: answer))
                }
                let lines = try SamplesJSONL.encode(rows)
                do { try lines.write(to: URL(fileURLWithPath: options.out)) } catch {
                    throw ValidationError("cannot write --out \(options.out): \(error.localizedDescription)")
                }
                return SampleSummary(
                    out: options.out, problems: problems.count, k: options.k, responses: generations.count,
                    answered: answered, sampleAccuracy: Double(correct) / Double(max(generations.count, 1)),
                    generatedTokens: generations.reduce(0) { $0 + $1.tokens.count },
                    seconds: Date().timeIntervalSince(start), loadAverageStart: loadStart,
                    loadAverageEnd: currentLoadAverage())
            }
            if json {
                try printJSON(summary)
            } else {
                print(
                    "wrote \(summary.responses) responses (\(summary.problems) problems × \(summary.k)) to "
                        + "\(summary.out) in \(Int(summary.seconds)) s; sample accuracy "
                        + String(format: "%.1f %%", summary.sampleAccuracy * 100))
            }
        }

        /// The problems: see ``selectProblems(file:count:split:knobs:record:)``.
        func loadProblems(record: TrainingRecord?) throws -> [Problem] {
            try selectProblems(
                file: problems, count: count, split: split, knobs: knobs, record: record)
        }
    }
}

/// What `quorum task sample --json` prints.
private struct SampleSummary: Encodable, Sendable {
    var out: String
    var problems: Int
    var k: Int
    var responses: Int
    var answered: Int
    var sampleAccuracy: Double
    var generatedTokens: Int
    var seconds: Double
    var loadAverageStart: Double?
    var loadAverageEnd: Double?

    enum CodingKeys: String, CodingKey {
        case out, problems, k, responses, answered, sampleAccuracy = "sample_accuracy"
        case generatedTokens = "generated_tokens", seconds, loadAverageStart = "load_average_start"
        case loadAverageEnd = "load_average_end"
    }
}
