import ArgumentParser
import Foundation
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumStack
import QuorumServing
import QuorumStore
import QuorumTokenizer

/// Cancels `task` on SIGINT or SIGTERM, for a graceful stop of a long-running command.
private func cancelOnSignals(_ task: Task<Void, any Error>) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        return source
    }
}

/// Cancels `task` once the process that started this one (`quorum run`, named by
/// `QUORUM_PARENT_PID`) is gone, even if it was killed with SIGKILL: a worker or sink started by
/// `quorum run` must not outlive it. Does nothing for processes started by hand.
private func cancelWhenParentExits(_ task: Task<Void, any Error>) -> Task<Void, Never>? {
    guard let text = ProcessInfo.processInfo.environment[parentPIDVariable], let parent = Int32(text) else {
        return nil
    }
    return Task.detached {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            if getppid() != parent {
                log("[\(ProcessInfo.processInfo.processName)] quorum run (pid \(parent)) is gone; stopping")
                task.cancel()
                return
            }
        }
    }
}

/// Waits for `task` of a long-running command, cancelling it on SIGINT or SIGTERM and when the
/// `quorum run` that started this process is gone.
func awaitUntilStopped(_ task: Task<Void, any Error>) async -> Result<Void, any Error> {
    let signals = cancelOnSignals(task)
    let orphanWatch = cancelWhenParentExits(task)
    defer {
        signals.forEach { $0.cancel() }
        orphanWatch?.cancel()
    }
    return await task.result
}

/// Throws what ended a long-running command, unless it was a stop request (cancellation).
func rethrowUnlessStopped(_ outcome: Result<Void, any Error>) throws {
    if case .failure(let error) = outcome, !(error is CancellationError) { throw error }
}

/// Prints a line on standard error (progress, never data).
func log(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

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

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() async throws {
        let resolved = Endpoints.resolve(postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers)
        let database = PostgresClient(url: resolved.postgresURL)
        let spec = try await PipelineSpec.registered(pipeline, database: database)
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let checkpoints = ModelCheckpoints(database: database, store: PostgresArtifactStore(client: database))
        let workerName = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let counters = SharedCounters()
        let worker = try Worker(
            spec: spec, name: workerName, kafka: KafkaConfiguration(bootstrapServers: resolved.kafkaBrokers),
            maxProblemsPerBatch: batch
        ) { round in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "quorum-\(spec.name)-m\(round - 1)-\(getpid())")
            // Once loaded, the model lives in memory: the downloaded folder is not needed past this round's start.
            defer { try? FileManager.default.removeItem(at: folder) }
            try await checkpoints.fetch(pipeline: spec.name, round: round - 1, into: folder.path)
            let sampler = try makeWorkerSampler(spec: spec, folder: folder.path, threads: threads)
            let tokenizer = try BPETokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
            log("[worker \(workerName)] round \(round): sampling from M\(round - 1) (\(spec.servingFormat.rawValue))")
            return CountingSampler(base: sampler, tokenizer: tokenizer, counters: counters)
        }
        // A throughput line every 15 s while sampling.
        let reporter = Task {
            var last = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                if Task.isCancelled { return }
                let now = counters.value.problems
                if now != last { log("[worker \(workerName)] \(counters.line)") }
                last = now
            }
        }
        defer { reporter.cancel() }
        log("[worker \(workerName)] waiting for tasks of \(spec.name) on \(spec.tasksTopic)")
        try rethrowUnlessStopped(await awaitUntilStopped(Task { try await worker.run() }))
        await worker.close()
        let lost = worker.stats.lostCommits
        let lostLine = lost > 0 ? "; \(lost) commits lost to rebalances (their tasks were redelivered)" : ""
        log("[worker \(workerName)] stopped after \(worker.stats.problems) problems; \(counters.line)\(lostLine)")
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

    func run() async throws {
        let resolved = Endpoints.resolve(postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers)
        let database = PostgresClient(url: resolved.postgresURL)
        let spec = try await PipelineSpec.registered(pipeline, database: database)
        let group = "quorum.\(spec.name).sink"
        var configuration = KafkaConsumerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: resolved.kafkaBrokers), groupID: group)
        configuration.leavesGroupOnClose = false  // see KafkaConsumerConfiguration.leavesGroupOnClose
        let consumer = try KafkaConsumer(configuration: configuration, topics: [spec.votesTopic])
        let sink = KafkaPostgresSink(
            group: group, consumer: consumer, database: database, handler: VoteRecordHandler(), maxBatch: batch)
        log("[sink] storing \(spec.votesTopic) into PostgreSQL")
        let reporter = Task {
            var last = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                if Task.isCancelled { return }
                let stats = sink.stats
                if stats.applied != last { log("[sink] \(Self.line(stats))") }
                last = stats.applied
            }
        }
        defer { reporter.cancel() }
        try rethrowUnlessStopped(await awaitUntilStopped(Task { try await sink.run() }))
        await consumer.close()
        log("[sink] stopped: \(Self.line(sink.stats))")
    }

    /// "120 stored, 0 seen before, 1 dead letters in 7 batches; 0.42 s in transactions (286 records/s)".
    static func line(_ stats: SinkStatistics) -> String {
        "\(stats.applied) stored, \(stats.skippedAsDuplicate + stats.reapplied) seen before, "
            + "\(stats.deadLettered) dead letters in \(stats.batches) batches; "
            + (stats.lostCommits > 0 ? "\(stats.lostCommits) Kafka commits lost to rebalances; " : "")
            + String(
                format: "%.2f s in transactions (%.0f records/s)", stats.storeSeconds,
                stats.storeSeconds > 0 ? Double(stats.applied + stats.deadLettered) / stats.storeSeconds : 0)
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "A pipeline's rounds (from PostgreSQL, the source of truth) and its Kafka consumer lag.")

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "The pipeline's name.") var pipeline: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let resolved = Endpoints.resolve(postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers)
        let database = PostgresClient(url: resolved.postgresURL)
        let spec = try await PipelineSpec.registered(pipeline, database: database)
        let manager = RoundManager(spec: spec, database: database)
        var rounds: [RoundProgress] = []
        for number in try await manager.roundNumbers() { rounds.append(try await manager.progress(number)) }
        let deadLetters = try await manager.deadLetters()
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: resolved.kafkaBrokers))
        func lags(_ group: String, _ topic: String) async -> [PartitionLag]? {
            guard let partitions = try? await admin.lag(group: group, topic: topic) else { return nil }
            return partitions.map {
                PartitionLag(
                    partition: Int($0.topicPartition.partition), committed: $0.committedOffset,
                    high: $0.highWatermark, lag: $0.lag)
            }
        }
        // Rates over the last minute, from when vote records were stored; ETA for the open round.
        let (perMinute, activeWorkers) = try await manager.recentVotes(seconds: 60)
        let rate = Double(perMinute) / 60
        let open = rounds.first { $0.state == .sampling }
        let remaining = open.map { $0.problems - $0.voted }
        let eta = remaining.flatMap { rate > 0 ? Double($0) / rate : nil }
        let taskLags = await lags("quorum.\(spec.name).workers", spec.tasksTopic)
        let voteLags = await lags("quorum.\(spec.name).sink", spec.votesTopic)
        let report = PipelineStatus(
            pipeline: spec.name, rounds: rounds, deadLetters: deadLetters,
            tasksLag: taskLags?.reduce(0) { $0 + $1.lag }, votesLag: voteLags?.reduce(0) { $0 + $1.lag },
            tasksLagByPartition: taskLags, votesLagByPartition: voteLags, problemsPerSecond: rate,
            activeWorkers: activeWorkers, samplingRound: open?.round, etaSeconds: eta)
        if json { return try printJSON(report) }
        print("pipeline \(spec.name)")
        for round in rounds {
            let weight = round.meanWeight.map { String(format: "%.3f", $0) } ?? "-"
            print(
                "  round \(round.round): \(round.state.rawValue)  problems \(round.problems)  published \(round.published)  "
                    + "voted \(round.voted)  pairs \(round.pairs)  mean weight \(weight)"
                    + (round.failure.map { "  failed: \($0)" } ?? ""))
        }
        print(
            String(format: "  rate %.2f problems/s over the last minute (%d workers)", rate, activeWorkers)
                + (open.map { round in
                    " — round \(round.round): \(round.problems - round.voted) to go"
                        + (eta.map { String(format: ", ETA %.0f s", $0) } ?? "")
                } ?? ""))
        print("  dead letters \(deadLetters)")
        func describe(_ title: String, _ lags: [PartitionLag]?) {
            guard let lags else { return print("  \(title): topic not found") }
            let parts = lags.map { "p\($0.partition) \($0.lag)" }.joined(separator: ", ")
            print("  \(title) \(lags.reduce(0) { $0 + $1.lag }): \(parts)")
        }
        describe("task lag (workers)", taskLags)
        describe("vote lag (sink)", voteLags)
    }
}

private struct PartitionLag: Encodable {
    var partition: Int
    var committed: Int64?
    var high: Int64
    var lag: Int64
}

private struct PipelineStatus: Encodable {
    var pipeline: String
    var rounds: [RoundProgress]
    var deadLetters: Int
    var tasksLag: Int64?
    var votesLag: Int64?
    var tasksLagByPartition: [PartitionLag]?
    var votesLagByPartition: [PartitionLag]?
    var problemsPerSecond: Double
    var activeWorkers: Int
    var samplingRound: Int?
    var etaSeconds: Double?
}
