import ArgumentParser
import Foundation
import QuorumPipeline
import QuorumStack
import QuorumStore
import QuorumVoting

/// Prints the `quorum rounds` table.
func printRoundsTable(pipeline: String, database: PostgresClient) async throws {
    let rows = try await RoundSummary.load(pipeline: pipeline, database: database)
    let k = rows.compactMap(\.majorityK).first ?? 0
    func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
    func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
    let header = [
        "model", "state", "problems", "pairs", "mean w", "chosen ok", "greedy", "± s.e.", "vs M0",
        k > 0 ? "maj@\(k)" : "maj@k", "ckpt KiB", "NeuZip",
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
            let spec = try await PipelineSpec.registered(pipeline, database: database)
            guard try await RoundManager(spec: spec, database: database).roundNumbers().contains(round) else {
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
