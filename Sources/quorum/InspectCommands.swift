import ArgumentParser
import Foundation
import QuorumPipeline
import QuorumStack
import QuorumStore

/// Prints the `quorum rounds` table.
func printRoundsTable(pipeline: String, database: PostgresClient) async throws {
    let rows = try await RoundSummary.load(pipeline: pipeline, database: database)
    for line in RoundSummary.table(rows, pipeline: pipeline) { print(line) }
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
        let database = endpoints.database
        _ = try await PipelineSpec.registered(pipeline, database: database)
        if json { return try printJSON(["rounds": try await RoundSummary.load(pipeline: pipeline, database: database)]) }
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
        @Option(help: "Output format.") var format = Format.jsonl
        @Option(help: "Write here instead of standard output.") var out: String?

        /// The formats pairs are exported in.
        enum Format: String, ExpressibleByArgument { case jsonl }

        func run() async throws {
            let database = endpoints.database
            let (output, count) = try await StoredPairs.trlJSONL(pipeline: pipeline, round: round, database: database)
            if let out {
                do { try output.write(to: URL(fileURLWithPath: out)) } catch {
                    throw ValidationError("cannot write \(out): \(error.localizedDescription)")
                }
                log("[pairs] wrote \(count) pairs of round \(round) to \(out)")
            } else {
                FileHandle.standardOutput.write(output)
            }
        }
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
    @OptionGroup var metrics: MetricsOptions

    func validate() throws {
        guard (spec == nil) != (pipeline == nil) else {
            throw ValidationError("give either a spec file or --pipeline NAME (not both)")
        }
    }

    func run() async throws {
        let serving = metrics.start(role: "manager")
        defer { serving?.cancel() }
        let spec: PipelineSpec
        if let path = self.spec {
            spec = try PipelineSpec.load(path: path)
        } else {
            spec = try await PipelineSpec.registered(pipeline!, database: endpoints.database)
        }
        let (runner, _) = try await PipelineRunner.prepared(
            spec: spec, postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers,
            kafkaProperties: try endpoints.kafkaProperties, workDirectory: workDirectory, log: { log($0) })
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
