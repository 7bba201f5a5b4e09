internal import CRdKafka

/// A topic as the cluster describes it.
public struct KafkaTopicDescription: Sendable, Hashable {
    /// The topic's name.
    public var name: String
    /// How many partitions it has.
    public var partitionCount: Int
}

/// A consumer group as the cluster lists it.
public struct KafkaGroupDescription: Sendable, Hashable {
    /// The group id.
    public var name: String
    /// Its state (`Stable`, `Empty`, `PreparingRebalance`, …).
    public var state: String
    /// Its current member count.
    public var memberCount: Int
}

/// How far a group trails one partition.
public struct KafkaPartitionLag: Sendable, Hashable {
    /// The partition.
    public var topicPartition: KafkaTopicPartition
    /// Its low watermark (first stored offset).
    public var lowWatermark: Int64
    /// Its high watermark (offset of the next message to be written).
    public var highWatermark: Int64
    /// The group's committed offset, if it has one.
    public var committedOffset: Int64?
    /// Messages not yet committed: high − committed (high − low with no commit), never below 0.
    ///
    /// Some Kafka-protocol brokers (Tansu 0.6) under-report the high watermark, so this can read
    /// low there; on Apache Kafka it is exact.
    public var lag: Int64 {
        max(0, highWatermark - (committedOffset ?? lowWatermark))
    }
}

/// Cluster administration: topics, groups, watermarks and lag.
///
/// Every call blocks inside librdkafka, so each runs on the admin's own thread.
public final class KafkaAdmin: Sendable {
    private let configuration: KafkaConfiguration
    private let handle: RDKafkaHandle
    private let executor = BlockingExecutor(label: "quorum.kafka.admin")
    private static let timeoutMilliseconds: Int32 = 15_000

    /// Connects to the cluster.
    public init(configuration: KafkaConfiguration) throws(KafkaError) {
        self.configuration = configuration
        self.handle = try RDKafkaHandle.make(RD_KAFKA_PRODUCER, properties: configuration.resolved(defaults: [:]))
    }

    deinit { handle.destroy() }

    /// Creates a topic with `partitions` partitions. With `ifNotExists`, an existing topic is fine.
    public func createTopic(
        _ name: String, partitions: Int, replicationFactor: Int = 1, ifNotExists: Bool = true
    ) async throws(KafkaError) {
        let handle = self.handle
        try await executor.run { () throws(KafkaError) in
            var errstr = [CChar](repeating: 0, count: 512)
            guard
                let topic = rd_kafka_NewTopic_new(
                    name, Int32(partitions), Int32(replicationFactor), &errstr, errstr.count)
            else {
                throw KafkaError(code: .invalidConfiguration, message: "topic \(name): \(decodeCString(errstr))")
            }
            defer { rd_kafka_NewTopic_destroy(topic) }
            try Self.runAdminRequest(handle, context: "create topic \(name)") { queue in
                var topics: [OpaquePointer?] = [topic]
                rd_kafka_CreateTopics(handle.pointer, &topics, 1, nil, queue)
            } readResult: { event throws(KafkaError) in
                var count = 0
                let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
                for index in 0..<count {
                    guard let result = results?[index] else { continue }
                    let err = rd_kafka_topic_result_error(result)
                    if err == RD_KAFKA_RESP_ERR_NO_ERROR { continue }
                    if err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS && ifNotExists { continue }
                    let text = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? ""
                    throw KafkaError(code: .init(rawValue: err.rawValue), message: "create topic \(name): \(text)")
                }
            }
        }
    }

    /// Deletes a topic. A missing topic is not an error.
    public func deleteTopic(_ name: String) async throws(KafkaError) {
        let handle = self.handle
        try await executor.run { () throws(KafkaError) in
            guard let topic = rd_kafka_DeleteTopic_new(name) else { return }
            defer { rd_kafka_DeleteTopic_destroy(topic) }
            try Self.runAdminRequest(handle, context: "delete topic \(name)") { queue in
                var topics: [OpaquePointer?] = [topic]
                rd_kafka_DeleteTopics(handle.pointer, &topics, 1, nil, queue)
            } readResult: { event throws(KafkaError) in
                var count = 0
                let results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), &count)
                for index in 0..<count {
                    guard let result = results?[index] else { continue }
                    let err = rd_kafka_topic_result_error(result)
                    if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { continue }
                    throw KafkaError(err, "delete topic \(name)")
                }
            }
        }
    }

    /// Every topic in the cluster with its partition count, sorted by name.
    public func listTopics() async throws(KafkaError) -> [KafkaTopicDescription] {
        let handle = self.handle
        return try await executor.run { () throws(KafkaError) in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            try KafkaError.check(
                rd_kafka_metadata(handle.pointer, 1, nil, &metadata, Self.timeoutMilliseconds), "list topics")
            guard let metadata else { return [] }
            defer { rd_kafka_metadata_destroy(metadata) }
            return (0..<Int(metadata.pointee.topic_cnt)).compactMap { index in
                let topic = metadata.pointee.topics[index]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
                return KafkaTopicDescription(
                    name: String(cString: topic.topic), partitionCount: Int(topic.partition_cnt))
            }.sorted { $0.name < $1.name }
        }
    }

    /// Every consumer group the cluster knows, sorted by name.
    public func listGroups() async throws(KafkaError) -> [KafkaGroupDescription] {
        let handle = self.handle
        return try await executor.run { () throws(KafkaError) in
            var list: UnsafePointer<rd_kafka_group_list>?
            try KafkaError.check(
                rd_kafka_list_groups(handle.pointer, nil, &list, Self.timeoutMilliseconds), "list groups")
            guard let list else { return [] }
            defer { rd_kafka_group_list_destroy(list) }
            return (0..<Int(list.pointee.group_cnt)).map { index in
                let group = list.pointee.groups[index]
                return KafkaGroupDescription(
                    name: String(cString: group.group), state: group.state.map { String(cString: $0) } ?? "",
                    memberCount: Int(group.member_cnt))
            }.sorted { $0.name < $1.name }
        }
    }

    /// The low and high watermarks of one partition, asked of the broker that leads it.
    public func watermarks(topic: String, partition: Int32) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let handle = self.handle
        return try await executor.run { () throws(KafkaError) in
            var low: Int64 = 0
            var high: Int64 = 0
            try KafkaError.check(
                rd_kafka_query_watermark_offsets(
                    handle.pointer, topic, partition, &low, &high, Self.timeoutMilliseconds),
                "watermarks of \(topic)[\(partition)]")
            return (low, high)
        }
    }

    /// The lag of `group` on every partition of `topic`.
    public func lag(group: String, topic: String) async throws(KafkaError) -> [KafkaPartitionLag] {
        guard let description = try await listTopics().first(where: { $0.name == topic }) else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "topic \(topic) does not exist")
        }
        let partitions = (0..<Int32(description.partitionCount)).map {
            KafkaTopicPartition(topic: topic, partition: $0)
        }
        let committed = try await committedOffsets(group: group, partitions: partitions)
        var lags: [KafkaPartitionLag] = []
        for partition in partitions {
            let (low, high) = try await watermarks(topic: topic, partition: partition.partition)
            let offset = committed[partition].flatMap { $0 >= 0 ? $0 : nil }
            lags.append(
                KafkaPartitionLag(
                    topicPartition: partition, lowWatermark: low, highWatermark: high, committedOffset: offset))
        }
        return lags
    }

    /// The offsets `group` has committed, read without joining the group.
    public func committedOffsets(
        group: String, partitions: [KafkaTopicPartition]
    ) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let properties = configuration.resolved(defaults: ["group.id": group, "enable.auto.commit": "false"])
        return try await executor.run { () throws(KafkaError) in
            let reader = try RDKafkaHandle.make(RD_KAFKA_CONSUMER, properties: properties)
            defer { reader.destroy() }
            let list = TopicPartitionList.make(
                partitions.map { .init(topic: $0.topic, partition: $0.partition, offset: 0) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            try KafkaError.check(
                rd_kafka_committed(reader.pointer, list, Self.timeoutMilliseconds), "committed offsets of \(group)")
            var offsets: [KafkaTopicPartition: Int64] = [:]
            for position in TopicPartitionList.read(list) { offsets[position.topicPartition] = position.offset }
            return offsets
        }
    }

    /// Sends an admin request whose result arrives as an event on a private queue, and reads it.
    private static func runAdminRequest(
        _ handle: RDKafkaHandle, context: String, send: (OpaquePointer) -> Void,
        readResult: (OpaquePointer) throws(KafkaError) -> Void
    ) throws(KafkaError) {
        guard let queue = rd_kafka_queue_new(handle.pointer) else {
            throw KafkaError(code: .invalidConfiguration, message: "\(context): cannot create a queue")
        }
        defer { rd_kafka_queue_destroy(queue) }
        send(queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 5_000) else {
            throw KafkaError(code: .timedOut, message: "\(context): no answer from the cluster")
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
            throw KafkaError(code: .init(rawValue: err.rawValue), message: "\(context): \(text)")
        }
        try readResult(event)
    }
}
