import ArgumentParser
import Foundation
import QuorumCore
import QuorumPipeline
import QuorumServing
import QuorumTasks

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
                them. The responses are drawn exactly as a pipeline worker draws them: sample j of a problem \
                uses the random stream its id and j fix, whatever the batch. Problems come from --problems \
                (JSONL) or are generated like `quorum task generate` (knobs default to the checkpoint's \
                training run).
                """)

        @Option(help: "The checkpoint folder.") var model: String
        @Option(help: "Serving format to sample in (\(ServingFormat.names)); default: the fp32 model.")
        var format: ServingFormat?
        @Option(help: "Which split to generate: train, dev or test.") var split = DataSplit.train
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
            guard count > 0, k > 0 else { throw ValidationError("--count and --k must be at least 1") }
            guard temperature >= 0, topP > 0, topP <= 1 else {
                throw ValidationError("need --temperature >= 0 and 0 < --top-p <= 1")
            }
            guard maxNewTokens > 0, batchSize > 0 else {
                throw ValidationError("--max-new-tokens and --batch-size must be positive")
            }
        }

        func run() async throws {
            var sampling = TaskSampling(
                model: model, format: format, problems: knobs.selection(file: problems, count: count, split: split))
            (sampling.k, sampling.temperature, sampling.topP, sampling.seed) = (k, temperature, topP, seed)
            (sampling.maxNewTokens, sampling.batchSize, sampling.gold) = (maxNewTokens, batchSize, gold)
            let display = ProgressLine(enabled: true)
            let started = ContinuousClock.now
            let summary = try await sampling.run(writingTo: out) { done, total in
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                let rate = Double(done) / max(seconds, 1e-9)
                display.update(
                    "sampled \(done)/\(total) problems, \(String(format: "%.1f", rate)) problems/s"
                        + (done < total ? ", ETA \(Int((Double(total - done) / max(rate, 1e-9)).rounded())) s" : ""))
            }
            display.finish()
            if json { try printJSON(summary) } else { print(summary.line) }
        }
    }
}
