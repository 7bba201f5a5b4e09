public import Foundation
public import QuorumStore

/// One process of a pipeline as its heartbeat row records it.
public struct Member: Codable, Sendable, Equatable {
    /// What a member is, judged by the age of its last heartbeat.
    public enum State: String, Codable, Sendable {
        /// Heard from within ``Heartbeat/deadAfter``.
        case live
        /// Silent for longer: killed, hung, or cut off from the database.
        case dead
        /// It said it stopped.
        case stopped
    }

    public var role: String
    public var name: String
    public var host: String
    public var pid: Int
    public var startedAt: Date
    public var lastSeen: Date
    /// Seconds since the last heartbeat, by the database's clock.
    public var silentSeconds: Double
    public var round: Int?
    public var state: State
    /// The member's own counters (a worker's ``WorkerStatistics``, a sink's ``SinkStatistics``), as JSON.
    public var counters: String

    /// "worker worker-0 (host pid 123) live, round 2, seen 1 s ago".
    public var line: String {
        "\(role) \(name) (\(host) pid \(pid)) \(state.rawValue)" + (round.map { ", round \($0)" } ?? "")
            + String(format: ", seen %.0f s ago", silentSeconds)
    }
}

/// A process's heartbeat: its row in `members`, written every ``interval``.
///
/// A database that cannot be reached costs a missed beat, never the process: the member shows as dead
/// in `quorum status` until the next beat gets through.
public struct Heartbeat: Sendable {
    /// How often a member writes its row.
    public static let interval = Duration.seconds(5)
    /// A member silent for longer than this is dead (three missed beats).
    public static let deadAfter = Duration.seconds(15)

    let database: PostgresClient
    let pipeline: String
    let role: String
    let name: String
    let host: String
    let pid: Int
    let startedAt: Date

    /// A heartbeat for this process as `role` (`worker`, `sink`) of `pipeline`.
    public init(database: PostgresClient, pipeline: String, role: String, name: String) {
        self.database = database
        self.pipeline = pipeline
        self.role = role
        self.name = name
        host = ProcessInfo.processInfo.hostName
        pid = Int(ProcessInfo.processInfo.processIdentifier)
        startedAt = Date()
    }

    /// Writes the row now. Errors are swallowed (see the type's note) and reported as false.
    @discardableResult
    public func beat(round: Int?, counters: some Encodable & Sendable, stopped: Bool = false) async -> Bool {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = .sortedKeys
        let json = (try? encoder.encode(counters)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        do {
            try await database.execute(
                """
                INSERT INTO members (pipeline, role, name, host, pid, started_at, round, counters, stopped_at)
                VALUES (\(pipeline), \(role), \(name), \(host), \(Int32(pid)),
                        to_timestamp(\(startedAt.timeIntervalSince1970)), \(round.map { Int32($0) }),
                        \(PostgresJSON(json)), CASE WHEN \(stopped)::boolean THEN now() END)
                ON CONFLICT (pipeline, role, host, pid) DO UPDATE SET
                    last_seen = now(), round = EXCLUDED.round, counters = EXCLUDED.counters,
                    stopped_at = EXCLUDED.stopped_at
                """)
            return true
        } catch {
            return false
        }
    }

    /// Beats every ``interval`` until the task is cancelled, reading what to report from `snapshot`.
    public func run(_ snapshot: @escaping @Sendable () -> (round: Int?, counters: any Encodable & Sendable)) async {
        while !Task.isCancelled {
            let (round, counters) = snapshot()
            await beat(round: round, counters: counters)
            try? await Task.sleep(for: Self.interval)
        }
    }

    /// The members of `pipeline`, live ones first, then by role and name.
    public static func members(of pipeline: String, database: PostgresClient) async throws -> [Member] {
        let deadAfter = Double(deadAfter.components.seconds)
        return try await database.query(
            """
            SELECT * FROM (
                SELECT role, name, host, pid, started_at, extract(epoch FROM started_at)::double precision AS started,
                       extract(epoch FROM last_seen)::double precision AS seen,
                       extract(epoch FROM now() - last_seen)::double precision AS silent,
                       round, counters::text AS counters,
                       CASE WHEN stopped_at IS NOT NULL THEN 'stopped'
                            WHEN last_seen < now() - make_interval(secs => \(deadAfter)) THEN 'dead'
                            ELSE 'live' END AS state
                FROM members WHERE pipeline = \(pipeline)
            ) AS m
            ORDER BY state = 'live' DESC, role, name, started_at
            """
        ).map { row in
            Member(
                role: try row.decode(String.self, "role"), name: try row.decode(String.self, "name"),
                host: try row.decode(String.self, "host"), pid: try row.decode(Int.self, "pid"),
                startedAt: Date(timeIntervalSince1970: try row.decode(Double.self, "started")),
                lastSeen: Date(timeIntervalSince1970: try row.decode(Double.self, "seen")),
                silentSeconds: try row.decode(Double.self, "silent"), round: try row.decode(Int?.self, "round"),
                state: Member.State(rawValue: try row.decode(String.self, "state")) ?? .dead,
                counters: try row.decode(String.self, "counters"))
        }
    }
}
