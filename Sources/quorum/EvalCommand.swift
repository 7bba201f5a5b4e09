import ArgumentParser
import Foundation
import QuorumServing
import QuorumTasks
import QuorumVoting
import QuorumCore

/// `quorum eval`: greedy and majority-of-k accuracy of a checkpoint on labeled problems.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Greedy and majority-of-k accuracy of a checkpoint on labeled arithmetic problems.",
        discussion: """
            Problems come from --problems (JSONL) or are generated for --split with the generator knobs the \
            checkpoint was trained with (its training_record.json), unless flags say otherwise. The k samples \
            use temperature 0.7 and top-p 0.9 by default (SCPO's settings); responses without a "#### N" \
            answer cast no vote, and a tie goes to the answer sampled first.
            """)

    @Option(help: "The checkpoint folder (written by `quorum train sft`, or a `quorum quantize` folder).")
    var model: String
    @Option(
        help: """
            Serving format to evaluate in (fp32, bf16, w8a8, w8a8-fp, w4a16, b1.58, a4.8): the block linear layers \
            are quantized on load. Default: the fp32 model, or a quantized folder's own format.
            """)
    var format: ServingFormat?
    @Option(help: "Which split to generate: train, dev or test.") var split = DataSplit.test
    @Option(help: "How many problems.") var count = 200
    @Option(help: "Samples per problem for the majority vote (0: greedy only).") var k = 8
    @Option(help: "Seed of the samples' random streams.") var seed: UInt64 = 0
    @Option(help: "Sampling temperature.") var temperature = 0.7
    @Option(help: "Nucleus (top-p) of the samples.") var topP = 0.9
    @Option(help: "Most tokens per response.") var maxNewTokens = 160
    @Option(help: "Sequences decoded together.") var batchSize = 128
    @Option(help: "Evaluate these problems (JSONL) instead of generating a split.") var problems: String?
    @OptionGroup var knobs: GeneratorOptions
    @Option(help: "Also write each problem's outcome (gold, greedy, samples, majority) to this JSONL file.")
    var outcomes: String?
    @Option(help: "Key/value cache of a serving format: fp16 (default, as llama.cpp) or fp32.")
    var kvCache = KVPrecision.float16
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be at least 1") }
        guard k >= 0 else { throw ValidationError("--k must be 0 (greedy only) or more") }
        guard maxNewTokens > 0, batchSize > 0 else {
            throw ValidationError("--max-new-tokens and --batch-size must be positive")
        }
    }

    func run() async throws {
        var evaluation = ModelEvaluation(
            model: model, format: format, problems: knobs.selection(file: problems, count: count, split: split))
        evaluation.keyValues = kvCache
        (evaluation.k, evaluation.seed, evaluation.temperature, evaluation.topP) = (k, seed, temperature, topP)
        (evaluation.maxNewTokens, evaluation.batchSize) = (maxNewTokens, batchSize)
        let run = evaluation
        let display = ProgressLine(enabled: true)
        let (report, outcomes) = try await runOnDedicatedThread {
            try run.run(progress: log, steps: { display.update($0) })
        }
        display.finish()
        if let path = self.outcomes {
            do { try PairsJSONL.encode(outcomes).write(to: URL(fileURLWithPath: path)) } catch {
                throw CommandFailure("cannot write --outcomes \(path): \(error.localizedDescription)")
            }
        }
        if json { try printJSON(report) } else { print(report.line) }
    }
}
