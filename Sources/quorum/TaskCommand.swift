import ArgumentParser
import Foundation
import QuorumTasks

/// `quorum task …`: the synthetic arithmetic task.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Synthetic arithmetic word problems: generate train/dev/test splits as JSONL.",
        subcommands: [Generate.self, Sample.self])

    /// `quorum task generate`: writes one split's problems to a JSONL file.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate problems of one split, deterministically from a seed.",
            discussion: """
                Each line of the output is {"id","question","answer","solution"}; the solution has one \
                line per reasoning step and ends with "#### <answer>". The same seed and knobs always \
                give the same problems, and no problem appears in two splits.
                """)

        @Option(help: "Which split: train, dev or test.")
        var split: DataSplit

        @Option(help: "How many problems to write.")
        var count: Int

        @Option(help: "The seed of the candidate stream (any unsigned 64-bit integer).")
        var seed: UInt64

        @Option(help: "Fewest reasoning steps per problem (1–4).")
        var minSteps: Int = 1

        @Option(help: "Most reasoning steps per problem (1–4).")
        var maxSteps: Int = 4

        @Option(help: "Largest basic number (count, price, rate).")
        var maxNumber: Int = 50

        @Option(help: "Largest total or result (default: ten times --max-number, at least 100).")
        var maxResult: Int?

        @Option(help: "Operations the solutions may use, e.g. +-* for no division (default: all four).")
        var operations: String?

        @Option(help: "The JSONL file to write.")
        var out: String

        @Flag(help: "Print a JSON summary instead of a sentence.")
        var json = false

        func validate() throws {
            guard count > 0 else { throw ValidationError("--count must be at least 1 (got \(count))") }
            do {
                try config.validate()
            } catch let error as TaskError {
                throw ValidationError(error.message)
            }
        }

        /// The knobs the flags describe.
        var config: GeneratorConfig {
            GeneratorConfig(
                minSteps: minSteps, maxSteps: maxSteps, maxNumber: maxNumber, maxResult: maxResult,
                operations: operations)
        }

        func run() async throws {
            let problems: [Problem]
            do {
                problems = try ProblemGenerator(config: config).generate(split: split, count: count, seed: seed)
            } catch let error as TaskError {
                throw CommandFailure(error.message)
            }
            let url = URL(fileURLWithPath: out)
            do {
                try ProblemJSONL.write(problems, to: url)
            } catch {
                throw CommandFailure(
                    "cannot write \(out): \(error.localizedDescription); check that the folder exists and is writable")
            }
            var stepCounts = [Int](repeating: 0, count: 5)
            for problem in problems { stepCounts[problem.solution.split(separator: "\n").count - 1] += 1 }
            if json {
                let summary: [String: Any] = [
                    "split": split.rawValue, "count": problems.count, "seed": seed, "out": url.path,
                    "min_steps": minSteps, "max_steps": maxSteps, "max_number": maxNumber,
                    "max_result": config.resultLimit, "operations": operations ?? GeneratorConfig.allOperations,
                    "steps": Dictionary(uniqueKeysWithValues: (1...4).map { ("\($0)", stepCounts[$0]) }),
                ]
                let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let histogram = (1...4).map { "\($0): \(stepCounts[$0])" }.joined(separator: ", ")
                print("wrote \(problems.count) \(split.rawValue) problems to \(url.path) (steps \(histogram))")
            }
        }
    }
}
