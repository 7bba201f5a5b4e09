internal import CRdKafka
import Synchronization

/// One consumed message.
public struct KafkaMessage: Sendable, Hashable {
    /// The topic it came from.
    public var topic: String
    /// Its partition.
    public var partition: Int32
    /// Its offset in the partition.
    public var offset: Int64
    /// Its key, if it has one.
    public var key: [UInt8]?
    /// Its payload.
    public var value: [UInt8]

    /// The position to commit once this message is processed: the next offset.
    public var nextPosition: KafkaTopicPartitionOffset {
        KafkaTopicPartitionOffset(topic: topic, partition: partition, offset: offset + 1)
    }
}

/// What a consumer reports besides messages.
///
/// - Important: the handlers run on the consumer's own thread, inside its poll call. They must be
///   quick and must not call back into the consumer (that would wait for itself).
public struct KafkaConsumerEvents: Sendable {
    /// Partitions were assigned to this member (after a rebalance).
    public var onAssign: @Sendable ([KafkaTopicPartition]) -> Void
    /// Partitions were taken away from this member; stop working on them.
    public var onRevoke: @Sendable ([KafkaTopicPartition]) -> Void
    /// A non-fatal error (a broker went away, a topic is missing, …); the consumer keeps going.
    public var onError: @Sendable (KafkaError) -> Void
    /// The consumer started afresh with a new client after an outage (see ``KafkaConsumer``).
    public var onRenew: @Sendable () -> Void

    /// Creates event handlers; each defaults to doing nothing.
    public init(
        onAssign: @escaping @Sendable ([KafkaTopicPartition]) -> Void = { _ in },
        onRevoke: @escaping @Sendable ([KafkaTopicPartition]) -> Void = { _ in },
        onError: @escaping @Sendable (KafkaError) -> Void = { _ in },
        onRenew: @escaping @Sendable () -> Void = {}
    ) {
        self.onAssign = onAssign
        self.onRevoke = onRevoke
        self.onError = onError
        self.onRenew = onRenew
    }
}

/// A member of a consumer group with manual offset commits.
///
/// Offsets are never committed automatically: process a message, then ``commit(_:)`` its
/// ``KafkaMessage/nextPosition`` — so a crash re-delivers, never skips. All blocking librdkafka calls
/// (poll, commit, close) run one at a time on the consumer's own thread.
///
/// After the brokers were unreachable or a subscribed topic went missing, the consumer checks every
/// few seconds whether all its topics are back and then starts afresh with a new client (the same
/// group and subscription). librdkafka keeps its old fetch positions for a topic that was deleted and
/// created again (an in-memory broker restarted), and would silently skip the new topic's first
/// messages; the new client starts from the group's committed positions, or from the beginning where
/// the group has none.
public final class KafkaConsumer: Sendable {
    /// The client; replaced only on the consumer's own thread (see ``renewIfTopicsCameBack()``).
    private let client: Mutex<RDKafkaHandle>
    private let properties: [String: String]
    private let topics: [String]
    private let executor: BlockingExecutor
    private let events: EventsBox
    private let closed = AtomicFlag(false)
    private let leavesGroupOnClose: Bool
    /// Since when the brokers or a topic have been away (nil while all is well), and the last check.
    private let outage = Mutex<(since: ContinuousClock.Instant, lastCheck: ContinuousClock.Instant)?>(nil)
    private let renewals = Mutex(0)

    /// Properties Quorum relies on; ``KafkaConfiguration/properties`` may override them.
    static func defaults(_ configuration: KafkaConsumerConfiguration) -> [String: String] {
        [
            "group.id": configuration.groupID,
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": configuration.autoOffsetReset,
            "session.timeout.ms": String(configuration.sessionTimeoutMilliseconds),
            "heartbeat.interval.ms": String(max(configuration.sessionTimeoutMilliseconds / 6, 100)),
            // A topic an in-memory broker lost and got back (or whose partitions changed) is noticed
            // within 10 s instead of librdkafka's 5 min, so a restarted broker does not strand consumers.
            "topic.metadata.refresh.interval.ms": "10000",
        ]
    }

    /// Creates a consumer and subscribes it to `topics`; the group assigns partitions on the first polls.
    public init(
        configuration: KafkaConsumerConfiguration, topics: [String], events: KafkaConsumerEvents = KafkaConsumerEvents()
    ) throws(KafkaError) {
        let box = EventsBox(events)
        let properties = configuration.kafka.resolved(defaults: Self.defaults(configuration))
        client = Mutex(try Self.subscribedClient(properties: properties, topics: topics, events: box))
        self.properties = properties
        self.topics = topics
        self.leavesGroupOnClose = configuration.leavesGroupOnClose
        self.events = box
        self.executor = BlockingExecutor(label: "quorum.kafka.consumer")
    }

    private static func subscribedClient(
        properties: [String: String], topics: [String], events: EventsBox
    ) throws(KafkaError) -> RDKafkaHandle {
        let opaque = Unmanaged.passUnretained(events).toOpaque()
        let handle = try RDKafkaHandle.make(RD_KAFKA_CONSUMER, properties: properties) { conf in
            rd_kafka_conf_set_opaque(conf, opaque)
            rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        }
        // Serve every event through the consumer queue, so one poll loop sees all of them.
        rd_kafka_poll_set_consumer(handle.pointer)
        let list = TopicPartitionList.make(topics.map { .init(topic: $0, partition: RD_KAFKA_PARTITION_UA, offset: 0) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_subscribe(handle.pointer, list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            handle.destroy()
            throw KafkaError(err, "cannot subscribe to \(topics.joined(separator: ", "))")
        }
        return handle
    }

    deinit {
        if !closed.exchange(true) {
            let (handle, leaves) = (client.withLock { $0 }, leavesGroupOnClose)
            executor.runBlocking { Self.release(handle, leavingGroup: leaves) }
        }
    }

    /// The client in use. Read it on the consumer's thread, inside the job that uses it.
    private var handle: RDKafkaHandle { client.withLock { $0 } }

    /// How often the consumer started afresh after an outage.
    public var renewalCount: Int { renewals.withLock { $0 } }

    /// The consumed messages, in order per partition. The sequence ends when the consumer is closed
    /// or the iterating task is cancelled; it throws only on fatal errors.
    public var messages: KafkaMessageSequence { KafkaMessageSequence(consumer: self) }

    /// Waits up to `timeoutMilliseconds` for the next message. Returns `nil` on time-out or after close.
    public func poll(timeoutMilliseconds: Int32 = 100) async throws(KafkaError) -> KafkaMessage? {
        guard !closed.value else { return nil }
        return try await executor.run { () throws(KafkaError) -> KafkaMessage? in
            guard !self.closed.value else { return nil }
            self.renewIfTopicsCameBack()
            guard let message = rd_kafka_consumer_poll(self.handle.pointer, Int32(timeoutMilliseconds)) else {
                return nil
            }
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return KafkaMessage(message.pointee) }
            if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            var error = KafkaError(err, "consumer")
            if let text = message.pointee.payload, message.pointee.len > 0 {
                let bytes = UnsafeRawBufferPointer(start: text, count: message.pointee.len)
                error = KafkaError(code: error.code, message: "consumer: \(String(decoding: bytes, as: UTF8.self))")
            }
            if err == RD_KAFKA_RESP_ERR__FATAL { throw error }
            if [.allBrokersDown, .unknownTopicOrPartition].contains(error.code) {
                let now = ContinuousClock.now
                self.outage.withLock { $0 = $0 ?? (since: now, lastCheck: now) }
            }
            self.events.events.onError(error)
            return nil
        }
    }

    /// During an outage, at most every 2 s: when every subscribed topic has partitions again, replaces
    /// the client with a new one. Runs on the consumer's thread.
    private func renewIfTopicsCameBack() {
        let now = ContinuousClock.now
        let due = outage.withLock { state -> Bool in
            guard let current = state, now - current.lastCheck >= .seconds(2) else { return false }
            state = (since: current.since, lastCheck: now)
            return true
        }
        guard due, Self.topicsExist(topics, handle: handle) else { return }
        guard let fresh = try? Self.subscribedClient(properties: properties, topics: topics, events: events) else { return }
        let old = client.withLock { current in
            defer { current = fresh }
            return current
        }
        old.destroyWithoutLeaving()
        outage.withLock { $0 = nil }
        renewals.withLock { $0 += 1 }
        events.events.onRenew()
    }

    /// Whether the cluster's metadata lists every topic of `topics` with at least one partition.
    private static func topicsExist(_ topics: [String], handle: RDKafkaHandle) -> Bool {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        guard rd_kafka_metadata(handle.pointer, 1, nil, &metadata, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR,
            let metadata
        else { return false }
        defer { rd_kafka_metadata_destroy(metadata) }
        var present: Set<String> = []
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            if topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, topic.partition_cnt > 0 { present.insert(String(cString: topic.topic)) }
        }
        return topics.allSatisfy(present.contains)
    }

    /// Commits positions to the group, synchronously: when this returns, the broker has them.
    /// After the group went on without this member the commit fails with an error whose
    /// ``KafkaError/isLostCommit`` is true; the messages go to the partitions' new owner again.
    public func commit(_ positions: [KafkaTopicPartitionOffset]) async throws(KafkaError) {
        guard !positions.isEmpty else { return }
        try checkOpen()
        try await executor.run { () throws(KafkaError) in
            let list = TopicPartitionList.make(positions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            try KafkaError.check(rd_kafka_commit(self.handle.pointer, list, 0), "commit")
            if let (partition, err) = TopicPartitionList.firstError(list) {
                throw KafkaError(err, "commit of \(partition)")
            }
        }
    }

    /// ``commit(_:)``, except that a commit the group no longer accepts because it rebalanced without
    /// this member (``KafkaError/isLostCommit``) returns false instead of throwing: for consumers
    /// whose processing tolerates redelivery.
    @discardableResult
    public func commitUnlessRebalanced(_ positions: [KafkaTopicPartitionOffset]) async throws(KafkaError) -> Bool {
        do {
            try await commit(positions)
            return true
        } catch {
            if error.isLostCommit { return false }
            throw error
        }
    }

    /// Commits the position after `message`.
    public func commit(_ message: KafkaMessage) async throws(KafkaError) {
        try await commit([message.nextPosition])
    }

    /// The group's committed positions for `partitions` (offset `-1001` where none is committed).
    public func committed(
        _ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int32 = 10_000
    ) async throws(KafkaError) -> [KafkaTopicPartitionOffset] {
        try checkOpen()
        return try await executor.run { () throws(KafkaError) in
            let list = TopicPartitionList.make(
                partitions.map { .init(topic: $0.topic, partition: $0.partition, offset: 0) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            try KafkaError.check(rd_kafka_committed(self.handle.pointer, list, timeoutMilliseconds), "committed offsets")
            return TopicPartitionList.read(list)
        }
    }

    /// The partitions currently assigned to this member.
    public func assignment() async throws(KafkaError) -> [KafkaTopicPartition] {
        try checkOpen()
        return try await executor.run { () throws(KafkaError) in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            try KafkaError.check(rd_kafka_assignment(self.handle.pointer, &list), "assignment")
            guard let list else { return [] }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return TopicPartitionList.read(list).map(\.topicPartition)
        }
    }

    /// Leaves the group (its partitions move to the other members at once; with
    /// ``KafkaConsumerConfiguration/leavesGroupOnClose`` off, after the session timeout) and releases
    /// the client. Uncommitted work is redelivered to whoever gets the partitions. Idempotent.
    public func close() async {
        guard !closed.exchange(true) else { return }
        let leaves = leavesGroupOnClose
        await executor.runAsync { Self.release(self.handle, leavingGroup: leaves) }
    }

    private static func release(_ handle: RDKafkaHandle, leavingGroup: Bool) {
        if leavingGroup {
            _ = rd_kafka_consumer_close(handle.pointer)
            handle.destroy()
        } else {
            handle.destroyWithoutLeaving()
        }
    }

    private func checkOpen() throws(KafkaError) {
        if closed.value { throw KafkaError(code: .closed, message: "the consumer is closed") }
    }
}

/// The consumer's messages as an `AsyncSequence`; iterating polls on the consumer's own thread.
public struct KafkaMessageSequence: AsyncSequence, Sendable {
    let consumer: KafkaConsumer

    /// Yields messages until the consumer closes or the task is cancelled.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer

        public mutating func next() async throws -> KafkaMessage? {
            while !Task.isCancelled {
                if let message = try await consumer.poll(timeoutMilliseconds: 100) { return message }
                if consumer.isClosed { return nil }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}

extension KafkaConsumer {
    /// Whether ``close()`` has been called.
    public var isClosed: Bool { closed.value }
}

extension KafkaMessage {
    /// Copies a librdkafka message out.
    init(_ message: rd_kafka_message_t) {
        topic = String(cString: rd_kafka_topic_name(message.rkt))
        partition = message.partition
        offset = message.offset
        key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) } ?? []
    }
}

/// Keeps the event handlers alive at a stable address for the C rebalance callback.
private final class EventsBox: Sendable {
    let events: KafkaConsumerEvents
    init(_ events: KafkaConsumerEvents) { self.events = events }
}

/// librdkafka's rebalance callback: applies the new assignment (eager or cooperative protocol) and
/// tells the application.
private let rebalanceCallback:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        UnsafeMutableRawPointer?
    ) -> Void = { rk, err, partitions, opaque in
        guard let rk, let partitions, let opaque else { return }
        let events = Unmanaged<EventsBox>.fromOpaque(opaque).takeUnretainedValue().events
        let changed = TopicPartitionList.read(partitions).map(\.topicPartition)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, partitions) {
                    events.onError(KafkaError(consuming: error, "incremental assign"))
                }
            } else {
                _ = rd_kafka_assign(rk, partitions)
            }
            events.onAssign(changed)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            events.onRevoke(changed)
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) {
                    events.onError(KafkaError(consuming: error, "incremental unassign"))
                }
            } else {
                _ = rd_kafka_assign(rk, nil)
            }
        default:
            events.onError(KafkaError(err, "rebalance"))
            _ = rd_kafka_assign(rk, nil)
        }
    }
