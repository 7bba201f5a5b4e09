import ArgumentParser
import Foundation
import QuorumServing
import QuorumTasks
import QuorumTraining
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
    @Option(help: "Which split to generate: train, dev or test.") var split = "test"
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
    @Option(help: "Key/value cache of a serving format: fp16 (default, as llama.cpp) or fp32.") var kvCache = "fp16"
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        guard KVPrecision(rawValue: kvCache) != nil else {
            throw ValidationError("unknown --kv-cache \"\(kvCache)\": use fp16 or fp32")
        }
        guard DataSplit(rawValue: split) != nil else {
            throw ValidationError("unknown split \"\(split)\": use --split train, dev or test")
        }
        guard count > 0 else { throw ValidationError("--count must be at least 1") }
        guard k >= 0 else { throw ValidationError("--k must be 0 (greedy only) or more") }
        guard maxNewTokens > 0, batchSize > 0 else {
            throw ValidationError("--max-new-tokens and --batch-size must be positive")
        }
    }

    func run() async throws {
        let options = self
        let report = try await runOnDedicatedThread { () throws -> EvalReport in
            let checkpoint = try ModelFolder.load(
                directory: options.model, format: options.format, keyValues: KVPrecision(rawValue: options.kvCache)!)
            let problems = try options.loadProblems(record: checkpoint.record)
            let evaluator = Evaluator(
                generator: checkpoint.generator, tokenizer: checkpoint.tokenizer, format: checkpoint.promptFormat,
                maxNewTokens: options.maxNewTokens, maxBatchSize: options.batchSize)
            let loadStart = currentLoadAverage()
            FileHandle.standardError.write(
                Data(
                    "evaluating \(problems.count) problems: greedy and \(options.k) samples each "
                        .appending("(temperature \(options.temperature), top-p \(options.topP))…\n").utf8))
            let (result, outcomes) = evaluator.evaluate(
                problems, k: options.k, temperature: options.temperature, topP: options.topP, seed: options.seed)
            if let path = options.outcomes {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                var lines = Data()
                for outcome in outcomes {
                    lines.append(try encoder.encode(outcome))
                    lines.append(0x0A)
                }
                do { try lines.write(to: URL(fileURLWithPath: path)) } catch {
                    throw ValidationError("cannot write --outcomes \(path): \(error.localizedDescription)")
                }
            }
            return EvalReport(
                model: options.model, format: checkpoint.format?.rawValue ?? "fp32 (LlamaModel)",
                split: options.problems == nil ? options.split : nil, problems: options.problems, result: result,
                loadAverageStart: loadStart, loadAverageEnd: currentLoadAverage())
        }
        if json {
            try printJSON(report)
        } else {
            let r = report.result
            var line = report.format + ": " + String(format: "greedy %.1f %%", r.greedyAccuracy * 100)
            if let majority = r.majorityAccuracy {
                line += String(format: ", majority-of-%d %.1f %%", r.k, majority * 100)
            }
            line += " on \(r.count) problems (\(String(format: "%.0f", r.seconds)) s, "
            line += "\(String(format: "%.0f", r.tokensPerSecond)) generated tok/s)"
            print(line)
        }
    }

    /// The problems: see ``selectProblems(file:count:split:knobs:record:)``.
    func loadProblems(record: TrainingRecord?) throws -> [Problem] {
        try selectProblems(
            file: problems, count: count, split: split, knobs: knobs, record: record)
    }
}

/// What `quorum eval --json` prints.
private struct EvalReport: Encodable, Sendable {
    var model: String
    var format: String
    var split: String?
    var problems: String?
    var result: EvaluationResult
    var loadAverageStart: Double?
    var loadAverageEnd: Double?

    enum CodingKeys: String, CodingKey {
        case model, format, split, problems, result
        case loadAverageStart = "load_average_start", loadAverageEnd = "load_average_end"
    }
}
