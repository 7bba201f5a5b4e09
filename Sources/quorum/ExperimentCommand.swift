import ArgumentParser
import Foundation
import QuorumExperiments
import QuorumPipeline
import QuorumStack
import QuorumStore

/// `quorum experiment …`: the SCPO table — every mode from shared seed models, evaluated on one
/// held-out test set, results in PostgreSQL.
struct ExperimentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Run an experiment (every SCPO mode from shared seed models) and print its table.",
        subcommands: [Run.self, Table.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an experiment spec to the end; resumable (every finished step is stored in PostgreSQL).",
            discussion: """
                For each seed: the seed model M0 (trained from the spec's seed_model config with that seed, or \
                imported with --seed-model), then every mode's rounds from that same M0 on the same unlabeled \
                problems, every model evaluated on the spec's held-out test split. Stop it at any moment and run \
                the same command again: stored models, samples and evaluations are not recomputed. \
                `quorum experiment table NAME` prints the results so far.
                """)

        @OptionGroup var endpoints: EndpointOptions
        @Argument(help: "The experiment spec, e.g. pipelines/experiments/scpo-table.yaml.") var spec: String
        @Option(help: "Run only these seeds (comma-separated; default: the spec's).") var seeds: String?
        @Option(help: "Use this folder as a seed's M0 instead of training it: SEED=DIR (repeatable).")
        var seedModel: [String] = []
        @Option(help: "Where model folders are cached (default: .quorum/experiments).") var workDirectory: String?

        func run() async throws {
            let spec: ExperimentSpec
            do { spec = try ExperimentSpec.load(path: self.spec) } catch { throw ValidationError(error.message) }
            let chosen: [Int]?
            let folders: [Int: String]
            do {
                chosen = try seeds.map { try spec.seeds(parsing: $0) }
                folders = try ExperimentSpec.seedModelFolders(parsing: seedModel)
            } catch { throw ValidationError("\(error)") }
            let database = try await connectExperimentStore(endpoints)
            var runner = ExperimentRunner(
                spec: spec, store: ExperimentStore(database: database, experiment: spec.name),
                artifacts: ModelArtifacts(store: PostgresArtifactStore(client: database)),
                workDirectory: workDirectory ?? QuorumHome.locate().path + "/experiments")
            runner.seedModelFolders = folders
            runner.log = { log($0) }
            try await runner.run(seeds: chosen)
            let table = try await ExperimentReport.load(database: database, experiment: spec.name)
            print(table.table.markdown)
        }
    }

    struct Table: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an experiment's table: mean ± standard error over seeds, and paired differences.",
            discussion: """
                Reads the stored evaluations (finished or not). --out writes the Markdown table (with the time \
                each seed took) to a file, e.g. docs/results/scpo-table.md; --plot draws greedy accuracy per round \
                and mode as SVG.
                """)

        @OptionGroup var endpoints: EndpointOptions
        @Argument(help: "The experiment's name.") var name: String
        @Option(help: "Write the table as Markdown to this file.") var out: String?
        @Option(help: "Draw greedy accuracy per round and mode to this SVG file.") var plot: String?
        @Flag(help: "Print the table as JSON.") var json = false

        func run() async throws {
            let database = try await connectExperimentStore(endpoints)
            let report = try await ExperimentReport.load(database: database, experiment: name)
            if let out { try write(report.markdown, to: out) }
            if let plot { try write(report.table.svg, to: plot) }
            if json {
                try printJSON(report)
            } else {
                print(report.markdown)
            }
        }

        private func write(_ text: String, to path: String) throws {
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw ValidationError("cannot write \(path): \(error.localizedDescription)")
            }
        }
    }
}

/// The database (the embedded stack unless endpoints say otherwise), migrated.
private func connectExperimentStore(_ endpoints: EndpointOptions) async throws -> PostgresClient {
    try await StackConnection.connect(postgresURL: endpoints.postgresURL).database
}
