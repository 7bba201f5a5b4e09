import ArgumentParser
import Foundation
import QuorumPipeline
import QuorumStack
import QuorumStore
import QuorumVoting

/// One row of the `round_summary` view: model M_round and the round that produced it.
struct RoundSummary: Codable {
    var round: Int
    var state: String?
    var tau: Double?
    var problems: Int?
    var voted: Int?
    var pairs: Int?
    var meanWeight: Double?
    var chosenCorrect: Double?
    var evalProblems: Int?
    var greedyAccuracy: Double?
    var majorityAccuracy: Double?
    var majorityK: Int?
    var uncompressedBytes: Int?
    var compressedBytes: Int?
    var neuzipRatio: Double?
    var samplingSeconds: Double?
    var trainingSeconds: Double?
    var evaluatingSeconds: Double?
    var totalSeconds: Double?
    var failure: String?
    /// Standard error of the greedy accuracy on the evaluation split (binomial).
    var greedyStandardError: Double?
    /// Greedy accuracy minus M0's on the same problems, with its paired standard error.
    var greedyGain: Estimate?

    enum CodingKeys: String, CodingKey {
        case round, state, tau, problems, voted, pairs, failure
        case meanWeight = "mean_weight", chosenCorrect = "chosen_correct", evalProblems = "eval_problems"
        case greedyAccuracy = "greedy_accuracy", majorityAccuracy = "majority_accuracy", majorityK = "majority_k"
        case uncompressedBytes = "uncompressed_bytes", compressedBytes = "compressed_bytes"
        case neuzipRatio = "neuzip_ratio", samplingSeconds = "sampling_seconds", trainingSeconds = "training_seconds"
        case evaluatingSeconds = "evaluating_seconds", totalSeconds = "total_seconds"
        case greedyStandardError = "greedy_standard_error", greedyGain = "greedy_gain_over_m0"
    }

    static func load(pipeline: String, database: PostgresClient) async throws -> [RoundSummary] {
        let rows = try await database.query(
            """
            SELECT round, state, tau, problems, voted, pairs, mean_weight, chosen_correct, eval_problems,
                   greedy_accuracy, majority_accuracy, majority_k, uncompressed_bytes, compressed_bytes, neuzip_ratio,
                   sampling_seconds, training_seconds, evaluating_seconds, total_seconds, failure
            FROM round_summary WHERE pipeline = \(pipeline) ORDER BY round
            """)
        let summaries = try rows.map { row in
            RoundSummary(
                round: try row.decode(Int.self, at: 0), state: try row.decode(String?.self, at: 1),
                tau: try row.decode(Double?.self, at: 2), problems: try row.decode(Int?.self, at: 3),
                voted: try row.decode(Int?.self, at: 4), pairs: try row.decode(Int?.self, at: 5),
                meanWeight: try row.decode(Double?.self, at: 6), chosenCorrect: try row.decode(Double?.self, at: 7),
                evalProblems: try row.decode(Int?.self, at: 8), greedyAccuracy: try row.decode(Double?.self, at: 9),
                majorityAccuracy: try row.decode(Double?.self, at: 10), majorityK: try row.decode(Int?.self, at: 11),
                uncompressedBytes: try row.decode(Int?.self, at: 12),
                compressedBytes: try row.decode(Int?.self, at: 13),
                neuzipRatio: try row.decode(Double?.self, at: 14),
                samplingSeconds: try row.decode(Double?.self, at: 15),
                trainingSeconds: try row.decode(Double?.self, at: 16),
                evaluatingSeconds: try row.decode(Double?.self, at: 17),
                totalSeconds: try row.decode(Double?.self, at: 18), failure: try row.decode(String?.self, at: 19))
        }
        return try await withStandardErrors(summaries, pipeline: pipeline, database: database)
    }

    /// Adds the greedy accuracy's standard error and the paired gain over M0, from the per-problem
    /// outcomes of each model's latest evaluation.
    static func withStandardErrors(_ rows: [RoundSummary], pipeline: String, database: PostgresClient) async throws
        -> [RoundSummary]
    {
        let stored = try await database.query(
            """
            SELECT DISTINCT ON (round) round, outcomes FROM evaluations
            WHERE pipeline = \(pipeline) AND outcomes IS NOT NULL ORDER BY round, created_at DESC
            """)
        var greedy: [Int: [Bool]] = [:]
        for row in stored {
            greedy[try row.decode(Int.self, "round")] = try row.decode(PostgresBytes.self, "outcomes").bytes.map {
                $0 & 1 != 0
            }
        }
        return rows.map { row in
            var row = row
            if let outcomes = greedy[row.round] {
                row.greedyStandardError = TableArithmetic.accuracy([outcomes])?.standardError
                if row.round > 0, let base = greedy[0] {
                    row.greedyGain = TableArithmetic.difference([(outcomes, base)])
                }
            }
            return row
        }
    }
}

/// Prints the `quorum rounds` table.
func printRoundsTable(pipeline: String, database: PostgresClient) async throws {
    let rows = try await RoundSummary.load(pipeline: pipeline, database: database)
    let k = rows.compactMap(\.majorityK).first ?? 8
    func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
    func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
    let header = [
        "model", "state", "problems", "pairs", "mean w", "chosen ok", "greedy", "± s.e.", "vs M0", "maj@\(k)",
        "ckpt KiB", "NeuZip",
        "sample s", "train s", "eval s",
    ]
    var table = [header]
    for row in rows {
        table.append([
            "M\(row.round)", row.state ?? (row.round == 0 ? "seed" : "-"), row.problems.map(String.init) ?? "-",
            row.pairs.map(String.init) ?? "-", number(row.meanWeight, "%.3f"), percent(row.chosenCorrect),
            percent(row.greedyAccuracy), number(row.greedyStandardError.map { $0 * 100 }, "%.1f"),
            row.greedyGain.map { gain in
                String(format: "%+.1f", gain.mean * 100)
                    + (gain.standardError.map { String(format: " ± %.1f", $0 * 100) } ?? "")
            } ?? "-",
            percent(row.majorityAccuracy),
            number(row.compressedBytes.map { Double($0) / 1024 }, "%.0f"), number(row.neuzipRatio, "%.3f×"),
            number(row.samplingSeconds, "%.0f"), number(row.trainingSeconds, "%.0f"),
            number(row.evaluatingSeconds, "%.0f"),
        ])
    }
    let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
    print(
        "pipeline \(pipeline) (M_n is trained in round n on that round's pairs; M0 is the seed; "
            + "\"vs M0\": greedy points gained on the same held-out problems ± its paired standard error)")
    for line in table {
        print(
            line.enumerated().map { index, cell in
                index == 0 || index == 1
                    ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  "))
    }
    for row in rows where row.failure != nil { print("round \(row.round) failed: \(row.failure!)") }
}

struct RoundsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rounds",
        abstract:
            "Per round of a pipeline: pairs, weights, chosen-correct fraction, accuracies, checkpoint, durations.",
        discussion: """
            One row per model: M0 (the seed) and M_n, trained in round n on that round's pairs. "chosen ok" is the \
            fraction of the round's pairs whose chosen answer equals the (never shown) gold answer; greedy and \
            maj@k are M_n's accuracies on the spec's evaluation split; NeuZip is the checkpoint's compression ratio; \
            the durations are the round's wall time per stage. The same numbers: SELECT * FROM round_summary.
            """)

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "The pipeline's name.") var pipeline: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let resolved = Endpoints.resolve(postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers)
        let database = PostgresClient(url: resolved.postgresURL)
        _ = try await PipelineSpec.registered(pipeline, database: database)
        if json { return try printJSON(try await RoundSummary.load(pipeline: pipeline, database: database)) }
        try await printRoundsTable(pipeline: pipeline, database: database)
    }
}

struct PairsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pairs", abstract: "A pipeline's preference pairs.", subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write a round's preference pairs in TRL's preference format (JSON lines).",
            discussion: """
                One line per pair: {"prompt", "chosen", "rejected"} as TRL's DPOTrainer reads them (the standard, \
                non-conversational format: prompt is the question, chosen/rejected the sampled solutions), plus \
                "weight" (SCPO's vote-margin weight) and, for reference, problem_id, round, chosen_answer, \
                rejected_answer, chosen_votes, rejected_votes, k and source. Pairs with weight 0 are included; \
                filter them if your trainer does not weight.
                """)

        @OptionGroup var endpoints: EndpointOptions
        @Option(help: "The pipeline's name.") var pipeline: String
        @Option(help: "The round whose pairs to export.") var round: Int
        @Option(help: "Output format (jsonl).") var format = "jsonl"
        @Option(help: "Write here instead of standard output.") var out: String?

        func run() async throws {
            guard format == "jsonl" else {
                throw ValidationError("--format \(format) is not supported; use --format jsonl")
            }
            let resolved = Endpoints.resolve(
                postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers)
            let database = PostgresClient(url: resolved.postgresURL)
            _ = try await PipelineSpec.registered(pipeline, database: database)
            let exists = try await database.query(
                "SELECT 1 FROM rounds WHERE pipeline = \(pipeline) AND number = \(Int32(round))")
            guard !exists.isEmpty else {
                throw ValidationError(
                    "pipeline \(pipeline) has no round \(round); see `quorum rounds --pipeline \(pipeline)`")
            }
            let pairs = try await StoredPairs.load(pipeline: pipeline, round: round, database: database)
            var output = Data()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for pair in pairs {
                let line = TRLPair(
                    prompt: pair.prompt, chosen: pair.chosen, rejected: pair.rejected, weight: pair.weight,
                    problemID: pair.problemID, round: round, chosenAnswer: pair.chosenAnswer.isEmpty ? nil : pair.chosenAnswer,
                    rejectedAnswer: pair.rejectedAnswer, chosenVotes: pair.chosenVotes,
                    rejectedVotes: pair.rejectedVotes, k: pair.k, source: pair.source.rawValue)
                output.append(try encoder.encode(line))
                output.append(0x0A)
            }
            if let out {
                do { try output.write(to: URL(fileURLWithPath: out)) } catch {
                    throw ValidationError("cannot write \(out): \(error.localizedDescription)")
                }
                log("[pairs] wrote \(pairs.count) pairs of round \(round) to \(out)")
            } else {
                FileHandle.standardOutput.write(output)
            }
        }
    }
}

/// A pair as TRL reads it, plus SCPO's weight and where it came from.
struct TRLPair: Codable {
    var prompt: String
    var chosen: String
    var rejected: String
    var weight: Double
    var problemID: String
    var round: Int
    var chosenAnswer: String?
    var rejectedAnswer: String?
    var chosenVotes: Int
    var rejectedVotes: Int
    var k: Int
    var source: String

    enum CodingKeys: String, CodingKey {
        case prompt, chosen, rejected, weight, round, k, source
        case problemID = "problem_id", chosenAnswer = "chosen_answer", rejectedAnswer = "rejected_answer"
        case chosenVotes = "chosen_votes", rejectedVotes = "rejected_votes"
    }
}

struct ManagerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manager",
        abstract: "Run a pipeline's round manager and trainer stage alone (workers and the sink run elsewhere).",
        discussion: """
            The counterpart of `quorum worker` and `quorum sink` for multi-machine runs: registers the pipeline, \
            publishes (or trains) M0, and drives every round — publish problems, wait for their vote records \
            (re-publishing what goes missing), SCPO, evaluation, publish M_{r+1}. It starts no workers and no sink: \
            start those with `quorum worker --pipeline NAME` and `quorum sink --pipeline NAME` on any machine. \
            Give the spec file, or --pipeline for a pipeline already registered. Resumable like `quorum run`.
            """)

    @OptionGroup var endpoints: EndpointOptions
    @Argument(help: "The pipeline spec (or give --pipeline).") var spec: String?
    @Option(help: "A pipeline already registered in PostgreSQL (instead of a spec file).") var pipeline: String?
    @Option(help: "Where model folders are kept between steps.") var workDirectory: String?

    func validate() throws {
        guard (spec == nil) != (pipeline == nil) else {
            throw ValidationError("give either a spec file or --pipeline NAME (not both)")
        }
    }

    func run() async throws {
        let spec: PipelineSpec
        if let path = self.spec {
            spec = try PipelineSpec.load(path: path)
        } else {
            let resolved = Endpoints.resolve(postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers)
            spec = try await PipelineSpec.registered(pipeline!, database: PostgresClient(url: resolved.postgresURL))
        }
        let (runner, _) = try await prepareRunner(spec: spec, endpoints: endpoints, workDirectory: workDirectory)
        log("[manager] driving \(spec.name)'s rounds; workers and the sink join with --pipeline \(spec.name)")
        switch await awaitUntilStopped(Task { try await runner.runRounds() }) {
        case .success:
            try await printRoundsTable(pipeline: spec.name, database: runner.database)
        case .failure(let error) where error is CancellationError:
            log("[manager] stopped; run the same command again to continue where it stopped")
            throw ExitCode(130)
        case .failure(let error):
            throw error
        }
    }
}
