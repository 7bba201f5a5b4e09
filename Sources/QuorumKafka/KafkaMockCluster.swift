internal import CRdKafka

/// librdkafka's in-process mock Kafka cluster, for fast tests of the client wrapper itself.
///
/// It speaks the real protocol over loopback sockets, so producers and consumers pointed at
/// ``bootstrapServers`` behave as against real brokers. Pipeline tests use a real broker instead.
public final class KafkaMockCluster: Sendable {
    private let owner: RDKafkaHandle
    private let cluster: MockClusterPointer
    /// The cluster's `host:port` list.
    public let bootstrapServers: String

    /// Starts a mock cluster of `brokers` brokers.
    public init(brokers: Int = 3) throws(KafkaError) {
        owner = try RDKafkaHandle.make(RD_KAFKA_PRODUCER, properties: [:])
        guard let cluster = rd_kafka_mock_cluster_new(owner.pointer, Int32(brokers)) else {
            owner.destroy()
            throw KafkaError(code: .invalidConfiguration, message: "cannot start librdkafka's mock cluster")
        }
        self.cluster = MockClusterPointer(pointer: cluster)
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster.pointer)
        owner.destroy()
    }

    /// Makes the cluster answer the next `count` requests of Kafka protocol API `apiKey` (for example
    /// 8, OffsetCommit) with `code`, as a real broker would after a rebalance or a failure.
    public func failNextRequests(apiKey: Int16, with code: KafkaError.Code, count: Int = 1) {
        let errors = [rd_kafka_resp_err_t](repeating: rd_kafka_resp_err_t(code.rawValue), count: count)
        rd_kafka_mock_push_request_errors_array(cluster.pointer, apiKey, count, errors)
    }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int) throws(KafkaError) {
        try KafkaError.check(
            rd_kafka_mock_topic_create(cluster.pointer, name, Int32(partitions), 1), "mock topic \(name)")
    }
}

/// `@unchecked Sendable`: the mock cluster is internally synchronised by librdkafka.
private struct MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}
