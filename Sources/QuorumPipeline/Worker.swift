import CoreMetrics
import Foundation
public import QuorumKafka
import QuorumStore
public import QuorumVoting
import Synchronization
import SCPO

/// What a worker has done so far.
public struct WorkerStatistics: Sendable, Equatable, Codable {
    /// The round of the tasks last taken (nil before the first).
    public var round: Int?
    /// Problems voted and published.
    public var problems = 0
    /// Responses sampled.
    public var samples = 0
    /// Tasks that could not be read or have no model to sample from (dead-lettered; their offsets are
    /// committed with the batch they came in).
    public var unreadableTasks = 0
    /// Attempts to load a round's model that failed for a reason that may pass (and were retried).
    public var modelRetries = 0
    /// Why the last of them failed.
    public var modelError: String?
    /// Tasks whose vote records could not be delivered because the broker was unreachable (left
    /// uncommitted, to be sampled again).
    public var undelivered = 0
    /// Producers replaced after their deliveries failed (see ``Worker``'s renewal).
    public var producerRenewals = 0
    /// Times the task consumer started afresh after an outage (see ``QuorumKafka/KafkaConsumer``).
    public var consumerRenewals = 0
    /// Commits the group no longer accepted because it had rebalanced without this worker (see
    /// ``QuorumKafka/KafkaError/isLostCommit``); their tasks were redelivered to the new owner.
    public var lostCommits = 0
}

extension WorkerStatistics {
    /// The counters that say something went wrong, as one clause ("" while nothing did).
    public var troubles: String {
        [
            (undelivered, "tasks undelivered (the broker was unreachable; they are sampled again)"),
            (producerRenewals, "producers renewed"),
            (consumerRenewals, "consumers renewed after an outage"),
            (modelRetries, "model loads retried" + (modelError.map { " (last: \($0))" } ?? "")),
            (unreadableTasks, "tasks dead-lettered"),
            (lostCommits, "commits lost to rebalances (their tasks were redelivered)"),
        ].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
    }
}

/// A worker's trouble counters as metrics (`quorum_worker_{undelivered_tasks,model_retries,
/// dead_letters,producer_renewals,lost_commits}_total`) and how full its sampling batches are.
struct WorkerMetrics: Sendable {
    let undelivered, modelRetries, deadLetters, producerRenewals, lostCommits: Counter
    /// Problems per sampling batch over the most a batch takes (`quorum_worker_batch_occupancy`).
    let occupancy: Recorder

    init(dimensions: [(String, String)]) {
        undelivered = Counter(label: "quorum_worker_undelivered_tasks_total", dimensions: dimensions)
        modelRetries = Counter(label: "quorum_worker_model_retries_total", dimensions: dimensions)
        deadLetters = Counter(label: "quorum_worker_dead_letters_total", dimensions: dimensions)
        producerRenewals = Counter(label: "quorum_worker_producer_renewals_total", dimensions: dimensions)
        lostCommits = Counter(label: "quorum_worker_lost_commits_total", dimensions: dimensions)
        occupancy = Recorder(label: "quorum_worker_batch_occupancy", dimensions: dimensions, aggregate: true)
    }
}

/// A sampling worker: reads tasks of one pipeline from `quorum.NAME.tasks` in the pipeline's
/// consumer group, samples k answers per problem, votes, and publishes one vote record per problem
/// to `quorum.NAME.votes`. A task's offset is committed only after its vote record's delivery
/// report, so a crash re-delivers the task rather than losing it.
public final class Worker: Sendable {
    /// The pipeline.
    public let spec: PipelineSpec
    /// This worker's name, recorded in its vote records.
    public let name: String
    private let consumer: KafkaConsumer
    private let kafka: KafkaConfiguration
    /// Replaced after a delivery fails (see ``renewProducer()``).
    private let producer: Mutex<KafkaProducer>
    private let samplerForRound: @Sendable (Int) async throws -> any ResponseSampler
    private let deadLetter: @Sendable (KafkaMessage, String) async -> Void
    private let maxProblemsPerBatch: Int
    private let statistics = Mutex(WorkerStatistics())
    private let metrics: WorkerMetrics

    /// Creates a worker. `samplerForRound(r)` returns the sampler of the model that round `r`
    /// samples from (M_{r−1}); it is asked again whenever the round changes, and throws
    /// ``CheckpointNotPublished`` when there is no such model. `deadLetter` records a task that cannot
    /// be processed, with the reason (the `dead_letters` table, when the worker reaches PostgreSQL).
    public init(
        spec: PipelineSpec, name: String, kafka: KafkaConfiguration, maxProblemsPerBatch: Int = 4,
        deadLetter: @escaping @Sendable (KafkaMessage, String) async -> Void = { _, _ in },
        samplerForRound: @escaping @Sendable (Int) async throws -> any ResponseSampler
    ) throws {
        self.deadLetter = deadLetter
        self.spec = spec
        self.name = name
        self.maxProblemsPerBatch = maxProblemsPerBatch
        self.samplerForRound = samplerForRound
        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: "quorum.\(spec.name).workers")
        // A worker polls between batches, so this bounds one batch's sampling (≤ 4 problems × k). It is
        // also the rebalance timeout the member announces, which a coordinator may wait out for a
        // member that died mid-rebalance: 2 min, not librdkafka's 5.
        configuration.kafka.properties["max.poll.interval.ms"] =
            configuration.kafka.properties["max.poll.interval.ms"] ?? "120000"
        // Stopping (or being stopped by a dying `quorum run`) must not wedge the group on Tansu.
        configuration.leavesGroupOnClose = false
        consumer = try KafkaConsumer(configuration: configuration, topics: [spec.tasksTopic])
        self.kafka = kafka
        metrics = WorkerMetrics(dimensions: [("pipeline", spec.name), ("worker", name)])
        producer = Mutex(try KafkaProducer(configuration: kafka))
    }

    /// Counters so far.
    public var stats: WorkerStatistics {
        var stats = statistics.withLock { $0 }
        stats.consumerRenewals = consumer.renewalCount
        return stats
    }

    /// Runs until the task is cancelled. One bad task never stops it: an unreadable task, or one of a
    /// round whose model was never published, is dead-lettered; a model that cannot be loaded for a
    /// reason that may pass (the database restarting) is tried again with back-off.
    public func run() async throws {
        var current: (round: Int, sampler: (any ResponseSampler)?)?
        while !Task.isCancelled {
            var (tasks, done) = try await nextBatch()
            var undelivered: [KafkaMessage] = []
            for (round, group) in Dictionary(grouping: tasks, by: { $0.task.round }).sorted(by: { $0.key < $1.key }) {
                if current?.round != round {
                    current = (round, try await sampler(for: round))
                    statistics.withLock { $0.round = round }
                }
                if let sampler = current?.sampler {
                    metrics.occupancy.record(Double(group.count) / Double(maxProblemsPerBatch))
                    do { try await process(group, sampler: sampler) } catch let error as KafkaError
                        where error.isTransient || error.code == .fatal
                    {
                        // The broker is unreachable (or lost this producer's state): these tasks stay
                        // uncommitted (a restarted worker gets them again, and the round manager re-publishes
                        // what stays without a vote), and a new producer sends the next ones.
                        statistics.withLock { $0.undelivered += group.count }
                        metrics.undelivered.increment(by: group.count)
                        undelivered += group.map(\.message)
                        await renewProducer()
                        continue
                    }
                } else {
                    for item in group {
                        await reject(item.message, "no model M\(round - 1) was published for round \(round)'s task")
                    }
                }
                done += group.map(\.message)
            }
            // Every task of the batch was answered or set aside: now it may be marked consumed, but never
            // past a task whose vote record could not be delivered.
            let positions = Self.positions(after: done, notPast: undelivered)
            do { if !positions.isEmpty { try await commit(positions) } } catch let error as KafkaError
                where error.isTransient
            {
                try await Task.sleep(for: .seconds(1))  // redelivered later; vote records are idempotent
            }
        }
    }

    /// The sampler of round `round`'s model; nil when that model was never published.
    private func sampler(for round: Int) async throws -> (any ResponseSampler)? {
        var delay = Duration.seconds(1)
        while true {
            do { return try await samplerForRound(round) } catch is CheckpointNotPublished { return nil } catch {
                if Task.isCancelled { throw error }
                metrics.modelRetries.increment()
                statistics.withLock {
                    $0.modelRetries += 1
                    $0.modelError = String(describing: error)
                }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    /// Sets a task aside with the reason.
    private func reject(_ message: KafkaMessage, _ reason: String) async {
        statistics.withLock { $0.unreadableTasks += 1 }
        metrics.deadLetters.increment()
        await deadLetter(message, reason)
    }

    /// The positions to commit once `messages` are done: past the last one of each partition, but in a
    /// partition holding one of `pending`, no further than the first of those.
    static func positions(after messages: [KafkaMessage], notPast pending: [KafkaMessage] = [])
        -> [KafkaTopicPartitionOffset]
    {
        var next: [KafkaTopicPartition: Int64] = [:]
        for message in messages {
            let position = message.nextPosition
            next[position.topicPartition] = max(next[position.topicPartition] ?? 0, position.offset)
        }
        for message in pending {
            let partition = message.nextPosition.topicPartition
            if let position = next[partition] { next[partition] = min(position, message.offset) }
        }
        return next.sorted { $0.key.description < $1.key.description }.map {
            KafkaTopicPartitionOffset(topic: $0.key.topic, partition: $0.key.partition, offset: $0.value)
        }
    }

    /// Leaves the consumer group and flushes the producer.
    public func close() async {
        await consumer.close()
        await producer.withLock { $0 }.close()
    }

    /// Starts a new producer in place of one whose deliveries failed. An idempotent producer keeps
    /// its producer id and sequence numbers for ever; a broker that lost them (an in-memory broker
    /// restarted, or a cluster that expired the id) times out every later delivery of that producer,
    /// while a new one is accepted at once.
    private func renewProducer() async {
        do {
            let fresh = try KafkaProducer(configuration: kafka)
            let old = producer.withLock { current in
                defer { current = fresh }
                return current
            }
            statistics.withLock { $0.producerRenewals += 1 }
            metrics.producerRenewals.increment()
            await old.close(timeoutMilliseconds: 0)
        } catch {
            // Keep the old one; the next failed delivery tries again.
        }
    }

    /// Commits `positions`; a commit the group no longer accepts (this worker was rebalanced away,
    /// e.g. on a CPU-starved machine) is counted and skipped: the tasks go to their new owner again,
    /// and the vote records they produce twice are stored once (the sink's handler is idempotent).
    private func commit(_ positions: [KafkaTopicPartitionOffset]) async throws {
        if try await !consumer.commitUnlessRebalanced(positions) {
            statistics.withLock { $0.lostCommits += 1 }
            metrics.lostCommits.increment()
        }
    }

    /// Up to ``maxProblemsPerBatch`` readable tasks, and the unreadable messages polled with them
    /// (already dead-lettered; committed with the batch, never before the tasks polled ahead of them).
    private func nextBatch() async throws -> (tasks: [(task: TaskMessage, message: KafkaMessage)], rejected: [KafkaMessage]) {
        var batch: [(task: TaskMessage, message: KafkaMessage)] = []
        var rejected: [KafkaMessage] = []
        while batch.count < maxProblemsPerBatch {
            guard let message = try await consumer.poll(timeoutMilliseconds: batch.isEmpty ? 500 : 20) else { break }
            do {
                let task = try WireFormat.decode(TaskMessage.self, from: message.value)
                guard task.pipeline == spec.name else { throw DeadLetter("task of pipeline \(task.pipeline)") }
                batch.append((task, message))
            } catch {
                await reject(message, (error as? DeadLetter)?.reason ?? "\(error)")
                rejected.append(message)
            }
        }
        return (batch, rejected)
    }

    private func process(_ batch: [(task: TaskMessage, message: KafkaMessage)], sampler: any ResponseSampler)
        async throws
    {
        let round = batch[0].task.round
        let sampling = spec.sampling
        let selection = PairSelection(
            tau: spec.tau(forRound: round), seed: UInt64(round),
            mode: spec.mode.pairRule)
        let problems = batch.map { (id: $0.task.problemID, question: $0.task.question) }
        let responses = try await sampler.sample(
            problems, k: sampling.k, temperature: sampling.temperature, topP: sampling.topP, seed: UInt64(round))
        var extras: [[String]] = Array(repeating: [], count: batch.count)
        if sampling.extraSamples > 0 {
            extras = try await sampler.sample(
                problems, k: sampling.extraSamples, temperature: sampling.extraTemperature, topP: sampling.topP,
                seed: UInt64(round) &+ 0x5EED)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, item) in batch.enumerated() {
                let task = item.task
                let prompt = task.question
                let sampled =
                    responses[index].map {
                        SampledResponse(problemID: task.problemID, prompt: prompt, extractingFrom: $0)
                    }
                    + extras[index].map {
                        SampledResponse(problemID: task.problemID, prompt: prompt, extractingFrom: $0, isExtra: true)
                    }
                let outcome = selection.outcome(
                    problemID: task.problemID, prompt: prompt, responses: sampled, gold: task.gold, round: round)
                var record = VoteRecordMessage(pipeline: spec.name, worker: name, outcome: outcome)
                record.run = task.run
                let (producer, topic) = (self.producer.withLock { $0 }, spec.votesTopic)
                group.addTask {
                    try await producer.send(
                        topic: topic, key: Array(task.problemID.utf8), value: try WireFormat.encode(record))
                }
            }
            try await group.waitForAll()
        }
        statistics.withLock {
            $0.problems += batch.count
            $0.samples += batch.count * (sampling.k + sampling.extraSamples)
        }
    }
}

extension VoteRecordMessage {
    /// The wire record of one problem's vote.
    public init(pipeline: String, worker: String?, outcome: ProblemVoteOutcome) {
        self.init(
            pipeline: pipeline, round: outcome.round, problemID: outcome.problemID, k: outcome.k,
            answers: outcome.answers.map { AnswerVotes(answer: $0.answer, votes: $0.votes) },
            unparsable: outcome.unparsable,
            outcome: outcome.status.rawValue, worker: worker,
            pair: outcome.pair)
    }
}
