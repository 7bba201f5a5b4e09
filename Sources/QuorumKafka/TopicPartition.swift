internal import CRdKafka

/// A partition of a topic.
public struct KafkaTopicPartition: Hashable, Sendable, CustomStringConvertible {
    /// The topic's name.
    public var topic: String
    /// The partition number.
    public var partition: Int32

    /// Creates a topic-partition pair.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// A position in a partition: the offset of the next message to read.
public struct KafkaTopicPartitionOffset: Hashable, Sendable {
    /// The partition.
    public var topicPartition: KafkaTopicPartition
    /// The offset of the next message to consume (Kafka's commit convention: last processed + 1).
    public var offset: Int64

    /// Creates a position.
    public init(topic: String, partition: Int32, offset: Int64) {
        topicPartition = KafkaTopicPartition(topic: topic, partition: partition)
        self.offset = offset
    }
}

/// Converts between Swift arrays and `rd_kafka_topic_partition_list_t`.
enum TopicPartitionList {
    /// Builds a list; the caller destroys it with `rd_kafka_topic_partition_list_destroy`.
    static func make(_ positions: [KafkaTopicPartitionOffset]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    {
        let list = rd_kafka_topic_partition_list_new(Int32(max(positions.count, 1)))!
        for position in positions {
            let element = rd_kafka_topic_partition_list_add(
                list, position.topicPartition.topic, position.topicPartition.partition)!
            element.pointee.offset = position.offset
        }
        return list
    }

    /// Reads every element of a list.
    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartitionOffset] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return KafkaTopicPartitionOffset(
                topic: String(cString: element.topic), partition: element.partition, offset: element.offset)
        }
    }

    /// The first per-partition error in a list, if any.
    static func firstError(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> (
        KafkaTopicPartition, rd_kafka_resp_err_t
    )? {
        for index in 0..<Int(list.pointee.cnt) {
            let element = list.pointee.elems[index]
            if element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return (
                    KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                    element.err
                )
            }
        }
        return nil
    }
}
