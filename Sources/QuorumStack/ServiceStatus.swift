/// The state of one service of the embedded stack.
public struct ServiceStatus: Sendable, Codable, Equatable {
    /// `postgres` or `kafka`.
    public var name: String
    /// Whether the process is running and answers on its port.
    public var healthy: Bool
    /// The process id, when running.
    public var pid: Int32?
    /// The address clients use.
    public var address: String
    /// Where the service writes its log.
    public var logFile: String
    /// Anything worth knowing (a stale pid file that was removed, why it is down, …).
    public var note: String?
}

/// The state of the whole embedded stack.
public struct StackStatus: Sendable, Codable, Equatable {
    /// The stack folder.
    public var directory: String
    /// The PostgreSQL server.
    public var postgres: ServiceStatus
    /// The Kafka-protocol broker.
    public var kafka: ServiceStatus

    /// Whether both services are up.
    public var healthy: Bool { postgres.healthy && kafka.healthy }
}
