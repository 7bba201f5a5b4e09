import CoreMetrics
import Foundation
public import QuorumKafka
public import QuorumStore
import Synchronization

/// Turns one Kafka message into rows, inside the sink's batch transaction.
public protocol SinkHandler: Sendable {
    /// Writes what `message` means. Throw ``DeadLetter`` (or any error) to set the message aside in
    /// `dead_letters` with the reason; the rest of the batch still commits.
    func apply(_ message: KafkaMessage, in db: PostgresConnection) throws

    /// Whether applying a message twice changes nothing (a primary key decides). The sink then
    /// applies messages below its stored position too, instead of skipping them as redeliveries:
    /// a topic that was deleted and created again (an in-memory broker restarted) numbers its
    /// messages from 0 again, and those must not be taken for old ones.
    var isIdempotent: Bool { get }
}

extension SinkHandler {
    /// Handlers are not idempotent unless they say so.
    public var isIdempotent: Bool { false }
}

/// A message that cannot be applied, with the reason recorded beside its raw bytes.
public struct DeadLetter: Error, CustomStringConvertible, Sendable {
    /// Why the message was set aside.
    public let reason: String
    /// Creates a dead-letter verdict.
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// What a sink has done so far.
public struct SinkStatistics: Sendable, Equatable, Codable {
    /// Messages applied.
    public var applied = 0
    /// Messages skipped because PostgreSQL already had them (redeliveries).
    public var skippedAsDuplicate = 0
    /// Messages below the stored position given to an idempotent handler again: redeliveries (no
    /// change) or messages of a topic that was created again.
    public var reapplied = 0
    /// Messages set aside in `dead_letters`.
    public var deadLettered = 0
    /// Transactions committed.
    public var batches = 0
    /// Batches retried after a database error.
    public var retries = 0
    /// Seconds spent inside committed batch transactions (for the sink's rows/s capacity).
    public var storeSeconds = 0.0
    /// Kafka commits refused because the group had rebalanced without this sink (harmless: the
    /// positions are in PostgreSQL, which the partitions' next owner reads).
    public var lostCommits = 0
}

/// Consumes a topic into PostgreSQL with an exactly-once effect.
///
/// Each batch is one transaction holding the rows and the consumed positions (`consumer_offsets`);
/// a message below a stored position is skipped, so redelivery changes nothing (an idempotent
/// handler gets it again instead; see ``SinkHandler/isIdempotent``). Each message
/// runs under a savepoint: a bad one goes to `dead_letters` and never blocks the others. After the
/// transaction the positions are committed to Kafka too, so standard lag tools see them. A failed
/// transaction is retried with back-off; nothing is dropped.
public final class KafkaPostgresSink: Sendable {
    /// The consumer group name under which positions are stored in PostgreSQL.
    public let group: String
    private let consumer: KafkaConsumer
    private let database: PostgresClient
    private let handler: any SinkHandler
    private let maxBatch: Int
    private let maxWaitMilliseconds: Int32
    /// Attempts of a batch that fails with transient errors (not a lost connection) before the
    /// failing message is dead-lettered; about half a minute with the back-off.
    private let transientRetries: Int
    private let statistics = Mutex(SinkStatistics())
    private let metrics: SinkMetrics

    /// Creates a sink over a consumer that is already subscribed.
    public init(
        group: String, consumer: KafkaConsumer, database: PostgresClient, handler: any SinkHandler,
        maxBatch: Int = 500, maxWaitMilliseconds: Int32 = 200, transientRetries: Int = 10
    ) {
        self.transientRetries = transientRetries
        self.group = group
        self.consumer = consumer
        self.database = database
        self.handler = handler
        self.maxBatch = maxBatch
        self.maxWaitMilliseconds = maxWaitMilliseconds
        metrics = SinkMetrics(group: group)
    }

    /// Counters so far.
    public var stats: SinkStatistics { statistics.withLock { $0 } }

    /// Runs until the task is cancelled or the consumer is closed.
    public func run() async throws {
        while !Task.isCancelled && !consumer.isClosed {
            try await runOnce()
        }
    }

    /// Collects one batch (up to `maxBatch` messages or `maxWaitMilliseconds`) and stores it.
    /// Returns how many messages it consumed.
    @discardableResult
    public func runOnce() async throws -> Int {
        var batch: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .milliseconds(Int(maxWaitMilliseconds))
        while batch.count < maxBatch, ContinuousClock.now < deadline {
            if let message = try await consumer.poll(timeoutMilliseconds: batch.isEmpty ? maxWaitMilliseconds : 10) {
                batch.append(message)
            } else if !batch.isEmpty {
                break
            }
        }
        guard !batch.isEmpty else { return 0 }
        let positions = try await store(batch)
        // A commit lost to a rebalance is harmless: PostgreSQL holds the positions, and the
        // partitions' new owner starts from them.
        if try await !consumer.commitUnlessRebalanced(positions) {
            statistics.withLock { $0.lostCommits += 1 }
            metrics.lostCommits.increment()
        }
        return batch.count
    }

    /// One transaction: rows, dead letters and positions. Retried with back-off on database errors:
    /// without bound while the server is unreachable (it restarts, and the sink rides it out); a
    /// message whose transient errors (deadlock, serialization failure, statement timeout) outlast
    /// ``transientRetries`` attempts is then dead-lettered with the reason, so one message cannot
    /// hold the sink up for ever.
    private func store(_ batch: [KafkaMessage]) async throws -> [KafkaTopicPartitionOffset] {
        var delay = 0.1
        var transientFailures = 0
        while true {
            let started = ContinuousClock.now
            let retryTransient = transientFailures < transientRetries
            do {
                let (counts, positions) = try await database.withTransaction { [group, handler] db in
                    try Self.apply(batch, group: group, handler: handler, retryTransient: retryTransient, db: db)
                }
                metrics.record(counts, seconds: (ContinuousClock.now - started) / .seconds(1))
                statistics.withLock {
                    $0.applied += counts.applied
                    $0.skippedAsDuplicate += counts.skippedAsDuplicate
                    $0.reapplied += counts.reapplied
                    $0.deadLettered += counts.deadLettered
                    $0.batches += 1
                    let elapsed = ContinuousClock.now - started
                    $0.storeSeconds +=
                        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                }
                return positions
            } catch let error as PostgresError {
                statistics.withLock { $0.retries += 1 }
                metrics.retries.increment()
                if Task.isCancelled { throw error }
                if !error.code.isConnectionLoss { transientFailures += 1 }
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 5)
            }
        }
    }

    private static func apply(
        _ batch: [KafkaMessage], group: String, handler: any SinkHandler, retryTransient: Bool, db: PostgresConnection
    ) throws -> (SinkStatistics, [KafkaTopicPartitionOffset]) {
        var counts = SinkStatistics()
        var stored: [KafkaTopicPartition: Int64] = [:]  // as PostgreSQL had them, then as each message moves them on
        var next: [KafkaTopicPartition: Int64] = [:]  // the positions to commit
        for message in batch {
            let partition = KafkaTopicPartition(topic: message.topic, partition: message.partition)
            if stored[partition] == nil {
                let rows = try db.query(
                    """
                    SELECT next_offset FROM consumer_offsets
                    WHERE consumer_group = \(group) AND topic = \(message.topic) AND partition = \(message.partition)
                    FOR UPDATE
                    """)
                stored[partition] = try rows.first?.decode(Int64.self, at: 0) ?? 0
            }
            let seenBefore = message.offset < stored[partition]!
            if seenBefore && !handler.isIdempotent {
                counts.skippedAsDuplicate += 1
                next[partition] = stored[partition]!
                continue
            }
            try db.execute("SAVEPOINT quorum_message")
            do {
                try handler.apply(message, in: db)
                try db.execute("RELEASE SAVEPOINT quorum_message")
                if seenBefore { counts.reapplied += 1 } else { counts.applied += 1 }
            } catch let error as PostgresError where error.code.isConnectionLoss {
                throw error
            } catch let error as PostgresError where error.code.isTransient && retryTransient {
                throw error  // the whole batch is tried again: the message is valid, the moment was not
            } catch {
                try db.execute("ROLLBACK TO SAVEPOINT quorum_message")
                let reason = (error as? DeadLetter)?.reason ?? String(describing: error)
                try DeadLetters.insert(message, reason: reason, in: db)
                if seenBefore { counts.reapplied += 1 } else { counts.deadLettered += 1 }
            }
            if !seenBefore { stored[partition] = message.offset + 1 }
            // Kafka gets this position even when it is below the stored one (a topic created again);
            // PostgreSQL keeps the greater of the two.
            next[partition] = message.offset + 1
        }
        var positions: [KafkaTopicPartitionOffset] = []
        for (partition, next) in next.sorted(by: { $0.key.description < $1.key.description }) {
            try db.execute(
                """
                INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
                VALUES (\(group), \(partition.topic), \(partition.partition), \(next))
                ON CONFLICT (consumer_group, topic, partition)
                DO UPDATE SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset), updated_at = now()
                """)
            positions.append(
                KafkaTopicPartitionOffset(topic: partition.topic, partition: partition.partition, offset: next))
        }
        return (counts, positions)
    }
}

/// A sink's metrics: `quorum_sink_records_total` by outcome (stored, seen_before, dead_letter),
/// batches, retried batches, lost commits, and the seconds of each batch transaction.
struct SinkMetrics: Sendable {
    let stored, seenBefore, deadLettered, batches, retries, lostCommits: Counter
    let batchSeconds: Recorder

    init(group: String) {
        let group = [("group", group)]
        stored = Counter(label: "quorum_sink_records_total", dimensions: group + [("outcome", "stored")])
        seenBefore = Counter(label: "quorum_sink_records_total", dimensions: group + [("outcome", "seen_before")])
        deadLettered = Counter(label: "quorum_sink_records_total", dimensions: group + [("outcome", "dead_letter")])
        batches = Counter(label: "quorum_sink_batches_total", dimensions: group)
        retries = Counter(label: "quorum_sink_batch_retries_total", dimensions: group)
        lostCommits = Counter(label: "quorum_sink_lost_commits_total", dimensions: group)
        batchSeconds = Recorder(label: "quorum_sink_batch_seconds", dimensions: group, aggregate: true)
    }

    func record(_ counts: SinkStatistics, seconds: Double) {
        stored.increment(by: counts.applied)
        seenBefore.increment(by: counts.skippedAsDuplicate + counts.reapplied)
        deadLettered.increment(by: counts.deadLettered)
        batches.increment()
        batchSeconds.record(seconds)
    }
}

/// The `dead_letters` table: messages that cannot be processed, each with the reason, kept for a person.
public enum DeadLetters {
    /// Records `message` as a dead letter; the same message at the same position is recorded once.
    public static func insert(_ message: KafkaMessage, reason: String, in db: PostgresConnection) throws {
        try db.execute(
            """
            INSERT INTO dead_letters (topic, partition, "offset", message_key, payload, reason)
            VALUES (\(message.topic), \(message.partition), \(message.offset),
                    \(message.key.map(PostgresBytes.init)), \(PostgresBytes(message.value)), \(reason))
            ON CONFLICT (topic, partition, "offset", md5(payload)) DO NOTHING
            """)
    }
}
