import ArgumentParser
import Foundation
import Logging
import QuorumKafka
import QuorumPipeline
import QuorumStack
import QuorumServing
import QuorumStore
import QuorumTokenizer

/// Throws what ended a long-running command, unless it was a stop request (cancellation).
func rethrowUnlessStopped(_ outcome: Result<Void, any Error>) throws {
    if case .failure(let error) = outcome, !(error is CancellationError) { throw error }
}

/// Logs a line of progress (never data) through swift-log: on standard error, with time and level
/// (see `QuorumLogging` for the format and the file a child of `quorum run` writes).
func log(_ text: String) {
    commandLogger.info("\(text)")
}

/// The commands' logger.
let commandLogger = Logger(label: "quorum")

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Sample k answers per problem for a pipeline's rounds and publish the votes (runs until stopped).",
        discussion: """
            Any number of workers, on any machine that reaches Kafka and PostgreSQL, share a round through the \
            consumer group quorum.NAME.workers. Each round samples from the previous round's model, fetched from \
            the artifact store and verified. A task is committed only after its vote record was acknowledged.
            """)

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "The pipeline's name (as registered by quorum run).") var pipeline: String
    @Option(help: "This worker's name in the vote records (default: host-pid).") var name: String?
    @Option(help: "Problems sampled together in one batch (× k sequences).") var batch = 4
    @Option(help: "Threads for the model's matrix products (default: every core; quorum run shares them out).")
    var threads: Int?
    @OptionGroup var metrics: MetricsOptions

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        let (resolved, database) = (endpoints.resolved, endpoints.database)
        let spec = try await PipelineSpec.registered(pipeline, database: database)
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let checkpoints = ModelCheckpoints(database: database, store: try spec.artifactStore(database: database))
        let workerName = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let serving = metrics.start(role: "worker \(workerName)")
        defer { serving?.cancel() }
        let counters = SharedCounters(dimensions: [
            ("pipeline", spec.name), ("worker", workerName), ("format", spec.servingFormat.rawValue),
        ])
        let worker = try Worker(
            spec: spec, name: workerName,
            kafka: spec.kafkaConfiguration(brokers: resolved.kafkaBrokers, extra: try endpoints.kafkaProperties),
            maxProblemsPerBatch: batch,
            deadLetter: { message, reason in
                do { try await database.withConnection { try DeadLetters.insert(message, reason: reason, in: $0) } } catch {
                    log("[worker \(workerName)] could not record a dead letter (\(reason)): \(error)")
                }
            }
        ) { round in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "quorum-\(spec.name)-m\(round - 1)-\(getpid())")
            // Once loaded, the model lives in memory: the downloaded folder is not needed past this round's start.
            defer { try? FileManager.default.removeItem(at: folder) }
            try await checkpoints.fetch(pipeline: spec.name, round: round - 1, into: folder.path)
            let sampler = try ModelSampler.worker(spec: spec, folder: folder.path, threads: threads)
            let tokenizer = try BPETokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
            log("[worker \(workerName)] round \(round): sampling from M\(round - 1) (\(spec.servingFormat.rawValue))")
            return CountingSampler(base: sampler, tokenizer: tokenizer, counters: counters)
        }
        // A throughput line every 15 s while sampling, and a line when something went wrong.
        let reporter = Task {
            var (last, lastTroubles) = (0, "")
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                if Task.isCancelled { return }
                let now = counters.value.problems
                if now != last { log("[worker \(workerName)] \(counters.line)") }
                let troubles = worker.stats.troubles
                if troubles != lastTroubles { log("[worker \(workerName)] so far: \(troubles)") }
                (last, lastTroubles) = (now, troubles)
            }
        }
        defer { reporter.cancel() }
        let heartbeat = Heartbeat(database: database, pipeline: spec.name, role: "worker", name: workerName)
        let beating = Task { await heartbeat.run { (worker.stats.round, WorkerCounters(worker: worker.stats, sampling: counters.value)) } }
        log("[worker \(workerName)] waiting for tasks of \(spec.name) on \(spec.tasksTopic)")
        try rethrowUnlessStopped(await awaitUntilStopped(Task { try await worker.run() }))
        beating.cancel()
        await worker.close()
        await heartbeat.beat(
            round: worker.stats.round, counters: WorkerCounters(worker: worker.stats, sampling: counters.value), stopped: true)
        let troubles = worker.stats.troubles
        log(
            "[worker \(workerName)] stopped after \(worker.stats.problems) problems; \(counters.line)"
                + (troubles.isEmpty ? "" : "; \(troubles)"))
    }
}

struct SinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sink",
        abstract: "Store a pipeline's vote records and pairs in PostgreSQL, exactly once (runs until stopped).",
        discussion: """
            One transaction per batch holds the rows and the consumed Kafka positions, so redelivered records change \
            nothing; positions are committed to Kafka afterwards as well. Unreadable records go to dead_letters.
            """)

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "The pipeline's name.") var pipeline: String
    @Option(help: "Records per transaction at most.") var batch = 500
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let serving = metrics.start(role: "sink")
        defer { serving?.cancel() }
        let (resolved, database) = (endpoints.resolved, endpoints.database)
        let spec = try await PipelineSpec.registered(pipeline, database: database)
        let group = "quorum.\(spec.name).sink"
        var configuration = KafkaConsumerConfiguration(
            kafka: spec.kafkaConfiguration(brokers: resolved.kafkaBrokers, extra: try endpoints.kafkaProperties),
            groupID: group)
        configuration.leavesGroupOnClose = false  // see KafkaConsumerConfiguration.leavesGroupOnClose
        let consumer = try KafkaConsumer(
            configuration: configuration, topics: [spec.votesTopic],
            events: KafkaConsumerEvents(onRenew: {
                log("[sink] \(spec.votesTopic) is back after an outage: consuming it with a new client")
            }))
        let sink = KafkaPostgresSink(
            group: group, consumer: consumer, database: database, handler: VoteRecordHandler(), maxBatch: batch)
        log("[sink] storing \(spec.votesTopic) into PostgreSQL")
        let reporter = Task {
            var last = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                if Task.isCancelled { return }
                let stats = sink.stats
                if stats.applied != last { log("[sink] \(stats.line)") }
                last = stats.applied
            }
        }
        defer { reporter.cancel() }
        let heartbeat = Heartbeat(database: database, pipeline: spec.name, role: "sink", name: "sink")
        let beating = Task { await heartbeat.run { (nil, sink.stats) } }
        try rethrowUnlessStopped(await awaitUntilStopped(Task { try await sink.run() }))
        beating.cancel()
        await consumer.close()
        await heartbeat.beat(round: nil, counters: sink.stats, stopped: true)
        log("[sink] stopped: \(sink.stats.line)")
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "A pipeline's rounds (from PostgreSQL, the source of truth) and its Kafka consumer lag.")

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "The pipeline's name.") var pipeline: String
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Redraw every --interval seconds until stopped (Ctrl-C).") var watch = false
    @Option(help: "Seconds between redraws with --watch.") var interval = 2.0

    func validate() throws {
        guard interval >= 0.2, interval <= 3600 else { throw ValidationError("--interval must be 0.2 to 3600 seconds") }
        if watch && json { throw ValidationError("--watch redraws text; leave out --json (or call status --json in a loop)") }
    }

    func run() async throws {
        let (resolved, database) = (endpoints.resolved, endpoints.database)
        let spec = try await PipelineSpec.registered(pipeline, database: database)
        let kafka = spec.kafkaConfiguration(brokers: resolved.kafkaBrokers, extra: try endpoints.kafkaProperties)
        guard watch else {
            let status = try await PipelineStatus.load(spec: spec, database: database, kafka: kafka)
            if json { try printJSON(status) } else { for line in status.lines { print(line) } }
            return
        }
        try rethrowUnlessStopped(
            await awaitUntilStopped(
                Task {
                    while !Task.isCancelled {
                        let status = try await PipelineStatus.load(spec: spec, database: database, kafka: kafka)
                        let clock = Date().formatted(date: .omitted, time: .standard)
                        // Home, clear the screen, draw.
                        let screen = (status.lines + ["", "\(clock) · every \(interval) s · Ctrl-C stops"])
                            .joined(separator: "\n")
                        FileHandle.standardOutput.write(Data(("\u{1B}[H\u{1B}[2J" + screen + "\n").utf8))
                        try await Task.sleep(for: .seconds(interval))
                    }
                }))
    }
}
