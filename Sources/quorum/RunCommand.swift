import ArgumentParser
import Foundation
import QuorumKafka
import QuorumPipeline
import QuorumStack
import QuorumStore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Run a pipeline on this machine: the stack if needed, the seed model, workers, the sink and every round.",
        discussion: """
            Starts the embedded stack unless --postgres-url/--kafka-brokers (or QUORUM_POSTGRES_URL/QUORUM_KAFKA_BROKERS) \
            point elsewhere, applies the migrations, publishes (or trains) the seed model, starts --workers worker \
            processes and one sink process, and drives the rounds: sample → vote → store → SCPO → evaluate → publish. \
            Progress is kept in PostgreSQL: stop it at any moment (Ctrl-C) and run it again to continue. More workers \
            on other machines can join with `quorum worker --pipeline NAME`.
            """)

    @OptionGroup var endpoints: EndpointOptions
    @Argument(help: "The pipeline spec, e.g. pipelines/demo.yaml.") var spec: String
    @Option(help: "Worker processes to start here (default: the spec's workers).") var workers: Int?
    @Option(help: "Where model folders are kept between steps.") var workDirectory: String?

    func run() async throws {
        let spec = try PipelineSpec.load(path: self.spec)
        let resolved = Endpoints.resolve(
            postgresURL: endpoints.postgresURL ?? spec.postgresURL,
            kafkaBrokers: endpoints.kafkaBrokers ?? spec.kafkaBrokers)
        let environment = ProcessInfo.processInfo.environment
        let explicit = [
            endpoints.postgresURL, spec.postgresURL, environment["QUORUM_POSTGRES_URL"],
            endpoints.kafkaBrokers, spec.kafkaBrokers, environment["QUORUM_KAFKA_BROKERS"],
        ].contains { !($0 ?? "").isEmpty }
        if !explicit {
            let status = try LocalStack().up()
            guard status.healthy else {
                throw ValidationError("the embedded stack did not come up; see `quorum stack status`")
            }
        }
        let database = PostgresClient(url: resolved.postgresURL)
        let migrations = try Migration.load(from: defaultMigrationsFolder())
        _ = try await database.withConnection { try Migrator.migrate($0, migrations: migrations) }

        let home = QuorumHome.locate().path
        var runner = PipelineRunner(
            spec: spec, database: database, kafka: KafkaConfiguration(bootstrapServers: resolved.kafkaBrokers),
            stages: try makePipelineStages(spec: spec), workDirectory: workDirectory ?? home + "/runs")
        runner.log = { log($0) }
        try await runner.prepare()

        // Workers and the sink run as processes of this same binary, so they behave as on other machines.
        let flags = [
            "--pipeline", spec.name, "--postgres-url", resolved.postgresURL, "--kafka-brokers", resolved.kafkaBrokers,
        ]
        var helpers = [try ChildProcess(arguments: ["sink"] + flags, name: "sink")]
        for index in 0..<(workers ?? spec.workers) {
            helpers.append(
                try ChildProcess(arguments: ["worker", "--name", "worker-\(index)"] + flags, name: "worker-\(index)"))
        }
        log("[run] started \(helpers.count - 1) workers and the sink (logs: \(ChildProcess.logDirectory))")
        let rounds = Task { try await runner.runRounds() }
        let signals = cancelOnSignals(rounds)
        defer { signals.forEach { $0.cancel() } }
        let outcome = await rounds.result
        for helper in helpers { helper.stop() }
        switch outcome {
        case .success:
            try await printSummary(spec: spec, database: database)
        case .failure(let error) where error is CancellationError:
            log("[run] stopped; run the same command again to continue where it stopped")
            throw ExitCode(130)
        case .failure(let error):
            throw error
        }
    }

    private func printSummary(spec: PipelineSpec, database: PostgresClient) async throws {
        let rows = try await database.query(
            """
            SELECT round, problems, greedy_accuracy, majority_accuracy, k, pair_precision FROM evaluations
            WHERE pipeline = \(spec.name) ORDER BY round
            """)
        print("pipeline \(spec.name): \(spec.mode.rawValue), \(spec.rounds) rounds")
        print("model  greedy  maj@k  pair precision")
        for row in rows {
            let precision = try row.decode(Double?.self, at: 5).map { String(format: "%5.1f %%", $0 * 100) } ?? "    -"
            print(
                String(
                    format: "M%-4d %5.1f %%  %5.1f %%  %@", try row.decode(Int.self, at: 0),
                    try row.decode(Double.self, at: 2) * 100, try row.decode(Double.self, at: 3) * 100, precision))
        }
    }
}

/// A `quorum` subcommand running as a child process, its output in a log file.
final class ChildProcess {
    static let logDirectory = QuorumHome.locate().path + "/logs"
    private let process = Process()

    init(arguments: [String], name: String) throws {
        try FileManager.default.createDirectory(atPath: Self.logDirectory, withIntermediateDirectories: true)
        let logPath = "\(Self.logDirectory)/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Asks the process to stop (SIGTERM) and waits for it.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
