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
    @Argument(help: "The pipeline spec, e.g. pipelines/arith-demo.yaml.") var spec: String
    @Option(help: "Worker processes to start here (default: the spec's workers).") var workers: Int?
    @Option(help: "Where model folders are kept between steps.") var workDirectory: String?
    @Option(help: "How often each worker (or the sink) is started again after it died.") var maxRestarts = 5

    func run() async throws {
        let spec = try PipelineSpec.load(path: self.spec)
        let (runner, resolved) = try await prepareRunner(
            spec: spec, endpoints: endpoints, workDirectory: workDirectory)
        let database = runner.database

        // Workers and the sink run as processes of this same binary, so they behave as on other machines.
        let flags = [
            "--pipeline", spec.name, "--postgres-url", resolved.postgresURL, "--kafka-brokers", resolved.kafkaBrokers,
        ]
        let supervisor = Supervisor(maxRestarts: maxRestarts)
        try supervisor.start(name: "sink", arguments: ["sink"] + flags)
        // Workers on this machine share its cores: more threads than cores would make their thread
        // pools spin against each other.
        let count = workers ?? spec.workers
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / max(count, 1))
        for index in 0..<count {
            try supervisor.start(
                name: "worker-\(index)",
                arguments: ["worker", "--name", "worker-\(index)", "--threads", "\(threads)"] + flags)
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
            try await printSummary(spec: spec, database: database)
        case .failure(let error) where error is CancellationError:
            log("[run] stopped; run the same command again to continue where it stopped")
            throw ExitCode(130)
        case .failure(let error):
            throw error
        }
    }

    private func printSummary(spec: PipelineSpec, database: PostgresClient) async throws {
        try await printRoundsTable(pipeline: spec.name, database: database)
    }
}

/// What `quorum run` and `quorum manager` share: endpoints (the embedded stack when none is
/// given), migrations, the runner, the pipeline registered and M0 published.
func prepareRunner(spec: PipelineSpec, endpoints: EndpointOptions, workDirectory: String?) async throws -> (
    PipelineRunner, Endpoints
) {
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
    var runner = PipelineRunner(
        spec: spec, database: database, kafka: KafkaConfiguration(bootstrapServers: resolved.kafkaBrokers),
        stages: .standard(spec: spec), workDirectory: workDirectory ?? QuorumHome.locate().path + "/runs")
    runner.log = { log($0) }
    try await runner.prepare()
    return (runner, resolved)
}

/// A `quorum` subcommand running as a child process, its output appended to a log file. The child
/// learns its parent's pid (`QUORUM_PARENT_PID`) and stops when the parent is gone, so killing
/// `quorum run` (even with SIGKILL) leaves no orphaned workers behind.
final class ChildProcess: @unchecked Sendable {
    static let logDirectory = QuorumHome.locate().path + "/logs"
    private let process = Process()
    let name: String
    let logPath: String

    init(arguments: [String], name: String) throws {
        self.name = name
        try FileManager.default.createDirectory(atPath: Self.logDirectory, withIntermediateDirectories: true)
        logPath = "\(Self.logDirectory)/\(name).log"
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try output.seekToEnd()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging([
            parentPIDVariable: String(getpid())
        ]) { _, new in new }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// How the process ended (only once it has).
    var exitDescription: String {
        process.terminationReason == .uncaughtSignal
            ? "killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
    }

    /// Asks the process to stop (SIGTERM) and waits for it.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// Keeps `quorum run`'s workers and sink alive: one that dies is started again (with a log line),
/// at most `maxRestarts` times each.
final class Supervisor: @unchecked Sendable {
    private struct Entry {
        var arguments: [String]
        var process: ChildProcess
        var restarts = 0
        var givenUp = false
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    private var stopping = false
    let maxRestarts: Int

    init(maxRestarts: Int) { self.maxRestarts = maxRestarts }

    func start(name: String, arguments: [String]) throws {
        let process = try ChildProcess(arguments: arguments, name: name)
        lock.withLock {
            entries[name] = Entry(arguments: arguments, process: process)
            order.append(name)
        }
    }

    /// "2 workers and the sink (pids …)".
    var summary: String {
        lock.withLock {
            let pids = order.map { "\($0) pid \(entries[$0]!.process.pid)" }.joined(separator: ", ")
            return "\(order.count - 1) workers and the sink (\(pids))"
        }
    }

    /// Starts again every helper that died. Returns a message when the run cannot go on (the
    /// sink died more than `maxRestarts` times: nothing would store the votes).
    func restartDead() -> String? {
        lock.withLock {
            if stopping { return nil }
            for name in order {
                guard var entry = entries[name], !entry.givenUp, !entry.process.isRunning else { continue }
                let how = entry.process.exitDescription
                let oldPID = entry.process.pid
                if entry.restarts >= maxRestarts {
                    entry.givenUp = true
                    entries[name] = entry
                    let message =
                        "\(name) (pid \(oldPID)) \(how) and was restarted \(maxRestarts) times already; "
                        + "not again (see \(entry.process.logPath))"
                    if name == "sink" { return message + "; stopping, since nothing would store the votes" }
                    log("[run] \(message)")
                    continue
                }
                do {
                    entry.process = try ChildProcess(arguments: entry.arguments, name: name)
                    entry.restarts += 1
                    entries[name] = entry
                    log(
                        "[run] \(name) (pid \(oldPID)) \(how); restarted it as pid \(entry.process.pid) "
                            + "(restart \(entry.restarts) of at most \(maxRestarts))")
                } catch {
                    log("[run] \(name) (pid \(oldPID)) \(how) and could not be restarted: \(error)")
                }
            }
            return nil
        }
    }

    func stopAll() {
        let processes = lock.withLock {
            stopping = true
            return order.map { entries[$0]!.process }
        }
        for process in processes { process.stop() }
    }
}

/// The environment variable through which `quorum run` tells its children its pid.
let parentPIDVariable = "QUORUM_PARENT_PID"
