import QuorumKafka

/// Produce and consume keyed messages through a real broker, on a throw-away topic: messages/s and
/// MB/s each way.
public struct KafkaBenchmark: Sendable {
    /// Comma-separated bootstrap brokers.
    public var brokers: String
    /// Messages to send.
    public var messages = 20_000
    /// Payload bytes per message.
    public var messageBytes = 1024
    /// Partitions of the benchmark topic.
    public var partitions = 4
    /// Sends in flight at once.
    public var window = 2_000

    /// A benchmark against `brokers` with the default sizes.
    public init(brokers: String) {
        self.brokers = brokers
    }

    /// What the benchmark measured.
    public struct Report: Encodable, Sendable {
        /// Seconds and rates of one direction.
        public struct Rate: Encodable, Sendable {
            /// Wall-clock seconds.
            public var seconds: Double
            /// Messages per second.
            public var messagesPerSecond: Double
            /// Payload megabytes (10^6 bytes) per second.
            public var megabytesPerSecond: Double
        }

        /// The bootstrap brokers.
        public var brokers: String
        /// The librdkafka version in use.
        public var librdkafka: String
        /// Messages sent.
        public var messages: Int
        /// Payload bytes per message.
        public var messageBytes: Int
        /// Partitions of the topic.
        public var partitions: Int
        /// Producing every message until the broker acknowledged it.
        public var produce: Rate
        /// Reading them back, from the first message received (the group join is not counted).
        public var consume: Rate
    }

    /// Creates a random topic, produces and consumes `messages` messages, deletes the topic.
    public func run() async throws -> Report {
        guard messages > 0, messageBytes >= 0, partitions > 0, window > 0 else {
            throw BenchError("messages, partitions and window must be at least 1 and the message size 0 or more")
        }
        let kafka = KafkaConfiguration(bootstrapServers: brokers)
        let topic = "quorum.bench.\(UInt32.random(in: 0...UInt32.max))"
        let admin = try KafkaAdmin(configuration: kafka)
        try await admin.createTopic(topic, partitions: partitions)
        do {
            let report = try await measure(kafka: kafka, topic: topic)
            try? await admin.deleteTopic(topic)
            return report
        } catch {
            try? await admin.deleteTopic(topic)
            throw error
        }
    }

    private func measure(kafka: KafkaConfiguration, topic: String) async throws -> Report {
        let (messages, window) = (self.messages, self.window)
        let payload = [UInt8](repeating: 0x61, count: messageBytes)
        let producer = try KafkaProducer(configuration: kafka)
        let produceStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<messages {
                if index >= window { try await group.next() }
                group.addTask {
                    try await producer.send(topic: topic, key: Array("problem-\(index)".utf8), value: payload)
                }
            }
            try await group.waitForAll()
        }
        let produceSeconds = elapsed(since: produceStart)
        await producer.close()

        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: "\(topic).reader")
        configuration.autoOffsetReset = "earliest"
        let consumer = try KafkaConsumer(configuration: configuration, topics: [topic])
        var received = 0
        var consumeStart: ContinuousClock.Instant?
        for try await _ in consumer.messages {
            if consumeStart == nil { consumeStart = .now }  // exclude the group join from the rate
            received += 1
            if received == messages { break }
        }
        let consumeSeconds = consumeStart.map { elapsed(since: $0) } ?? 0
        await consumer.close()

        let megabytes = Double(messages * messageBytes) / 1_000_000
        return Report(
            brokers: kafka.bootstrapServers, librdkafka: Librdkafka.runtimeVersionString, messages: messages,
            messageBytes: messageBytes, partitions: partitions,
            produce: .init(
                seconds: produceSeconds, messagesPerSecond: Double(messages) / produceSeconds,
                megabytesPerSecond: megabytes / produceSeconds),
            consume: .init(
                seconds: consumeSeconds, messagesPerSecond: Double(received) / max(consumeSeconds, 1e-9),
                megabytesPerSecond: megabytes / max(consumeSeconds, 1e-9)))
    }
}
