public import QuorumStore

/// One registered pipeline, as `quorum pipeline list` shows it.
public struct PipelineListing: Encodable, Sendable {
    public var name: String
    public var rounds: Int
    public var done: Int
    public var failed: Int
    public var created: String

    enum CodingKeys: String, CodingKey { case name, rounds, done, failed, created }

    /// Every registered pipeline, oldest first.
    public static func load(database: PostgresClient) async throws -> [PipelineListing] {
        try await database.query(
            """
            SELECT p.name, to_char(p.created_at, 'YYYY-MM-DD HH24:MI:SS') AS created,
                   count(r.number) AS rounds,
                   count(r.number) FILTER (WHERE r.state = 'done') AS done,
                   count(r.number) FILTER (WHERE r.state = 'failed') AS failed
            FROM pipelines p LEFT JOIN rounds r ON r.pipeline = p.name
            GROUP BY p.name, p.created_at ORDER BY p.created_at
            """
        ).map {
            PipelineListing(
                name: try $0.decode(String.self, "name"), rounds: try $0.decode(Int.self, "rounds"),
                done: try $0.decode(Int.self, "done"), failed: try $0.decode(Int.self, "failed"),
                created: try $0.decode(String.self, "created"))
        }
    }

    /// The listing as one line.
    public var line: String {
        "\(name)  rounds \(rounds) (done \(done), failed \(failed))  registered \(created)"
    }
}

extension RoundManager {
    /// Makes a failed round runnable again: back to `training` when every problem has its vote
    /// record (the votes and pairs are kept), else to `sampling`; the failure is cleared. Returns
    /// the state the round is in now. `quorum run` (or `quorum manager`) then continues from it.
    ///
    /// - Throws: ``RoundError`` when the round does not exist or has not failed.
    @discardableResult
    public func resetFailedRound(_ number: Int) async throws -> RoundState {
        let name = spec.name
        let progress = try await progress(number)
        guard progress.state == .failed else {
            throw RoundError(message: "round \(number) of \(name) is \(progress.state.rawValue), not failed; nothing to reset")
        }
        let next: RoundState = progress.allVoted ? .training : .sampling
        try await database.withTransaction { db in
            try db.execute(
                """
                UPDATE rounds SET state = \(next.rawValue), failure = NULL, finished_at = NULL, updated_at = now()
                WHERE pipeline = \(name) AND number = \(Int32(number)) AND state = 'failed'
                """)
        }
        return next
    }

    /// Deletes the pipeline and everything it recorded (rounds, problems, votes, pairs, checkpoint
    /// records, evaluations, the sink's stored positions). Model artifacts stay in the artifact
    /// store (another pipeline may share them). Returns whether the pipeline existed.
    @discardableResult
    public func delete() async throws -> Bool {
        let name = spec.name
        return try await database.withTransaction { db in
            try db.execute("DELETE FROM consumer_offsets WHERE consumer_group = \("quorum.\(name).sink")")
            return try db.execute("DELETE FROM pipelines WHERE name = \(name)") == 1
        }
    }
}
