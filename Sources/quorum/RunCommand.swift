import ArgumentParser
import Foundation
import QuorumPipeline
import QuorumStack

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
    @Argument(help: "The pipeline spec, e.g. pipelines/arith-demo.yaml.") var spec: String
    @Option(help: "Worker processes to start here (default: the spec's workers).") var workers: Int?
    @Option(help: "Where model folders are kept between steps.") var workDirectory: String?
    @Option(help: "How often each worker (or the sink) is started again after it died.") var maxRestarts = 5
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let spec = try PipelineSpec.load(path: self.spec)
        let serving = metrics.start(role: "run")
        defer { serving?.cancel() }
        let (runner, resolved) = try await PipelineRunner.prepared(
            spec: spec, postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers,
            kafkaProperties: try endpoints.kafkaProperties, workDirectory: workDirectory, log: { log($0) })

        // Workers and the sink run as processes of this same binary, so they behave as on other machines.
        let flags = [
            "--pipeline", spec.name, "--postgres-url", resolved.postgresURL, "--kafka-brokers", resolved.kafkaBrokers,
        ] + endpoints.forwardedKafkaFlags
        let supervisor = Supervisor(maxRestarts: maxRestarts, log: { log($0) })
        // Metrics: this process on --metrics-port, the sink one above, worker i at i + 2 above.
        try supervisor.start(name: "sink", arguments: ["sink"] + flags + metrics.forwarded(offset: 1))
        // Workers on this machine share its cores: more threads than cores would make their thread
        // pools spin against each other.
        let count = workers ?? spec.workers
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / max(count, 1))
        for index in 0..<count {
            try supervisor.start(
                name: "worker-\(index)",
                arguments: ["worker", "--name", "worker-\(index)", "--threads", "\(threads)"] + flags
                    + metrics.forwarded(offset: UInt16(2 + index)))
        }
        log("[run] started \(supervisor.summary) (logs: \(ChildProcess.logDirectory))")
        let rounds = Task { try await runner.runRounds() }
        // A helper that dies (crash, OOM kill) is started again, up to --max-restarts times each.
        let watch = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                if let fatal = supervisor.restartDead() {
                    log("[run] \(fatal)")
                    rounds.cancel()
                    return
                }
            }
        }
        let outcome = await awaitUntilStopped(rounds)
        watch.cancel()
        supervisor.stopAll()
        switch outcome {
        case .success:
            try await printRoundsTable(pipeline: spec.name, database: runner.database)
        case .failure(let error) where error is CancellationError:
            log("[run] stopped; run the same command again to continue where it stopped")
            throw ExitCode(130)
        case .failure(let error):
            throw error
        }
    }
}
