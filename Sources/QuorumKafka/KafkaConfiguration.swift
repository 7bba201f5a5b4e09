/// Settings for a Kafka client: the brokers plus any librdkafka property.
///
/// Quorum sets the properties its contracts depend on (idempotence, manual commits, …) itself;
/// ``properties`` can add to or override them, using librdkafka's names (`CONFIGURATION.md`).
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list of bootstrap brokers.
    public var bootstrapServers: String
    /// Extra librdkafka properties, applied last.
    public var properties: [String: String]

    /// Creates a configuration for the given brokers.
    public init(bootstrapServers: String, properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
    }

    /// The properties handed to librdkafka: `defaults`, then the brokers, then ``properties``.
    func resolved(defaults: [String: String]) -> [String: String] {
        var all = defaults
        all["bootstrap.servers"] = bootstrapServers
        all.merge(properties) { _, new in new }
        return all
    }
}

/// Settings of a consumer in a consumer group.
public struct KafkaConsumerConfiguration: Sendable {
    /// Brokers and extra properties.
    public var kafka: KafkaConfiguration
    /// The consumer group to join.
    public var groupID: String
    /// How long the group waits for a silent member before moving its partitions away.
    /// 6 s suits the local broker (it waits about half of this before completing a join).
    public var sessionTimeoutMilliseconds: Int = 6000
    /// Where to start when the group has no committed offset: `earliest` or `latest`.
    public var autoOffsetReset: String = "earliest"
    /// Whether ``KafkaConsumer/close()`` leaves the group at once (Kafka's usual behaviour) or just
    /// releases the client, so the group notices the member is gone after the session timeout.
    ///
    /// Quorum's long-running consumers set `false`: Tansu 0.6 (the embedded broker) keeps a member that
    /// left *while the group was rebalancing* as the group's leader, and then waits for that leader's
    /// assignment for ever — every later member loops on "rebalance in progress". A member that
    /// just goes silent is expired after the session timeout, and a new leader is chosen.
    public var leavesGroupOnClose = true

    /// Creates a consumer configuration.
    public init(kafka: KafkaConfiguration, groupID: String) {
        self.kafka = kafka
        self.groupID = groupID
    }
}

extension KafkaConfiguration {
    /// `KEY=VALUE` settings (as `--kafka-property` flags give them) as librdkafka properties; a key
    /// given twice keeps its last value.
    ///
    /// - Throws: ``KafkaError`` with code `invalidConfiguration` naming the setting that is not `KEY=VALUE`.
    public static func properties(parsing settings: [String]) throws(KafkaError) -> [String: String] {
        var properties: [String: String] = [:]
        for setting in settings {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "\(setting) is not KEY=VALUE (for example security.protocol=SASL_SSL)")
            }
            properties[parts[0]] = parts[1]
        }
        return properties
    }
}
