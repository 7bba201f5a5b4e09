import Foundation

/// The PostgreSQL and Kafka addresses a command talks to.
///
/// Each comes from, in order: the command's flag, the environment (`QUORUM_POSTGRES_URL`,
/// `QUORUM_KAFKA_BROKERS`), or the embedded stack's loopback address.
public struct Endpoints: Sendable, Codable, Equatable {
    /// A libpq connection URL, e.g. `postgres://quorum@127.0.0.1:54329/quorum`.
    public var postgresURL: String
    /// Comma-separated Kafka bootstrap brokers, e.g. `127.0.0.1:19092`.
    public var kafkaBrokers: String

    /// Creates endpoints.
    public init(postgresURL: String, kafkaBrokers: String) {
        self.postgresURL = postgresURL
        self.kafkaBrokers = kafkaBrokers
    }

    /// Resolves the endpoints from flags, the environment and the embedded stack's ports.
    public static func resolve(
        postgresURL: String? = nil, kafkaBrokers: String? = nil,
        environment: [String: String]? = nil
    ) -> Endpoints {
        let environment = environment ?? ProcessInfo.processInfo.environment
        let ports = StackPorts(environment: environment)
        return Endpoints(
            postgresURL: nonEmpty(postgresURL) ?? nonEmpty(environment["QUORUM_POSTGRES_URL"])
                ?? "postgres://\(StackPorts.postgresUser)@127.0.0.1:\(ports.postgres)/\(StackPorts.database)",
            kafkaBrokers: nonEmpty(kafkaBrokers) ?? nonEmpty(environment["QUORUM_KAFKA_BROKERS"])
                ?? "127.0.0.1:\(ports.kafka)")
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}

/// The embedded stack's loopback ports: fixed, non-default, overridable by
/// `QUORUM_POSTGRES_PORT` and `QUORUM_KAFKA_PORT`.
public struct StackPorts: Sendable, Codable, Equatable {
    /// PostgreSQL's port (default 54329).
    public var postgres: Int
    /// The broker's port (default 19092).
    public var kafka: Int

    /// The database role the embedded server creates.
    public static let postgresUser = "quorum"
    /// The database the embedded server creates.
    public static let database = "quorum"

    /// Reads the ports from the environment, with the defaults.
    public init(environment: [String: String]? = nil) {
        let environment = environment ?? ProcessInfo.processInfo.environment
        postgres = environment["QUORUM_POSTGRES_PORT"].flatMap(Int.init) ?? 54329
        kafka = environment["QUORUM_KAFKA_PORT"].flatMap(Int.init) ?? 19092
    }
}
