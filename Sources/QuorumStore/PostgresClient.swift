import Dispatch

/// Async access to one PostgreSQL session, whose blocking libpq calls run on a dedicated thread.
///
/// Each call first makes sure the session is alive, reconnecting with back-off if the server
/// restarted; a call that is cut off mid-way throws (its outcome is unknown to the client), and the
/// next call reconnects. Calls run one at a time, in order, so a transaction's statements never
/// interleave with another caller's.
public final class PostgresClient: Sendable {
    /// The server's URL.
    public let url: String
    /// How long a call waits for the server to come back before giving up, in seconds.
    public let reconnectDeadline: Double
    private let queue: DispatchQueue
    private let session: Session

    /// Creates a client; it connects on first use.
    public init(url: String, reconnectDeadline: Double = 30) {
        self.url = url
        self.reconnectDeadline = reconnectDeadline
        self.queue = DispatchQueue(label: "quorum.postgres")
        self.session = Session()
    }

    /// Runs `body` with the live connection, on the client's thread.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let (url, deadline, session) = (self.url, reconnectDeadline, self.session)
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(
                    with: Result {
                        let connection = try session.connection(url: url, deadline: deadline)
                        return try body(connection)
                    })
            }
        }
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    @discardableResult
    public func withTransaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await withConnection { connection in try connection.withTransaction(body) }
    }

    /// Runs one parameterised statement and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { connection in try connection.query(query) }
    }

    /// Runs one statement and returns how many rows it changed.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await withConnection { connection in try connection.execute(query) }
    }

    /// How many times the session was re-established.
    public func reconnectCount() async throws -> Int {
        try await withConnection { $0.reconnects }
    }
}

/// Holds the connection; touched only on the client's serial queue.
///
/// `@unchecked Sendable`: every access happens on `PostgresClient.queue`, one at a time.
private final class Session: @unchecked Sendable {
    private var connection: PostgresConnection?

    func connection(url: String, deadline: Double) throws(PostgresError) -> PostgresConnection {
        if let connection {
            try connection.ensureConnected(deadline: deadline)
            return connection
        }
        let made: PostgresConnection
        do throws(PostgresError) {
            made = try PostgresConnection(url: url)
        } catch {
            throw error
        }
        connection = made
        return made
    }
}
