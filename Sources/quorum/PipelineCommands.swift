import ArgumentParser
import Foundation
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumStack
import QuorumStore
import QuorumTokenizer

/// Cancels `task` on SIGINT or SIGTERM, for a graceful stop of a long-running command.
func cancelOnSignals(_ task: Task<Void, any Error>) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        return source
    }
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

    func run() async throws {
        let resolved = Endpoints.resolve(postgresURL: endpoints.postgresURL, kafkaBrokers: endpoints.kafkaBrokers)
        let database = PostgresClient(url: resolved.postgresURL)
        let spec = try await PipelineSpec.registered(pipeline, database: database)
        let checkpoints = ModelCheckpoints(database: database, store: PostgresArtifactStore(client: database))
        let workerName = name ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let worker = try Worker(
            spec: spec, name: workerName, kafka: KafkaConfiguration(bootstrapServers: resolved.kafkaBrokers),
            maxProblemsPerBatch: batch
        ) { round in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "quorum-\(spec.name)-m\(round - 1)-\(getpid())")
            try await checkpoints.fetch(pipeline: spec.name, round: round - 1, into: folder.path)
            let model = try LlamaModel<Float>.load(directory: folder.path)
            let tokenizer = try BPETokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"))
            log("[worker \(workerName)] round \(round): sampling from M\(round - 1)")
            return ModelSampler(model: model, tokenizer: tokenizer, maxNewTokens: spec.sampling.maxNewTokens)
        }
        log("[worker \(workerName)] waiting for tasks of \(spec.name) on \(spec.tasksTopic)")
        let task = Task { try await worker.run() }
        let signals = cancelOnSignals(task)
        defer { signals.forEach { $0.cancel() } }
        do {
            try await task.value
        } catch is CancellationError {
        }
        await worker.close()
        log("[worker \(workerName)] stopped after \(worker.stats.problems) problems")
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
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                kafka: KafkaConfiguration(bootstrapServers: resolved.kafkaBrokers), groupID: group),
            topics: [spec.votesTopic])
        let sink = KafkaPostgresSink(
            group: group, consumer: consumer, database: database, handler: VoteRecordHandler(), maxBatch: batch)
        log("[sink] storing \(spec.votesTopic) into PostgreSQL")
        let task = Task { try await sink.run() }
        let signals = cancelOnSignals(task)
        defer { signals.forEach { $0.cancel() } }
        do {
            try await task.value
        } catch is CancellationError {
        }
        await consumer.close()
        let stats = sink.stats
        log(
            "[sink] stopped: \(stats.applied) stored, \(stats.skippedAsDuplicate) duplicates, \(stats.deadLettered) dead letters"
        )
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
        let numbers = try await database.query(
            "SELECT number FROM rounds WHERE pipeline = \(spec.name) ORDER BY number")
        var rounds: [RoundProgress] = []
        for row in numbers { rounds.append(try await manager.progress(try row.decode(Int.self, at: 0))) }
        let deadLetters = try await database.query(
            "SELECT count(*) FROM dead_letters WHERE topic = \(spec.votesTopic)")[0]
            .decode(Int.self, at: 0)
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: resolved.kafkaBrokers))
        func lag(_ group: String, _ topic: String) async -> Int64? {
            guard let partitions = try? await admin.lag(group: group, topic: topic) else { return nil }
            return partitions.reduce(0) { $0 + $1.lag }
        }
        let report = PipelineStatus(
            pipeline: spec.name, rounds: rounds, deadLetters: deadLetters,
            tasksLag: await lag("quorum.\(spec.name).workers", spec.tasksTopic),
            votesLag: await lag("quorum.\(spec.name).sink", spec.votesTopic))
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
            "  dead letters \(deadLetters)  task lag \(report.tasksLag.map(String.init) ?? "?")  "
                + "vote lag \(report.votesLag.map(String.init) ?? "?") (Kafka watermarks; Tansu reads low)")
    }
}

private struct PipelineStatus: Encodable {
    var pipeline: String
    var rounds: [RoundProgress]
    var deadLetters: Int
    var tasksLag: Int64?
    var votesLag: Int64?
}
