import Foundation
import QuorumDigest
public import QuorumKafka
public import QuorumStore
import QuorumCore
import QuorumServing

/// The states of a round, in order; `failed` can follow any state but `done`.
public enum RoundState: String, Sendable, Codable, CaseIterable {
    case pending, sampling, training, evaluating, done, failed

    /// The `quorum_round_state` metric's value: pending 0, sampling 1, training 2, evaluating 3,
    /// done 4, failed −1.
    public var metricCode: Int {
        switch self {
        case .pending: 0
        case .sampling: 1
        case .training: 2
        case .evaluating: 3
        case .done: 4
        case .failed: -1
        }
    }

    /// The state stored in a `rounds.state` value; a value this version does not know is an error,
    /// never a silent default.
    public static func stored(_ text: String) throws -> RoundState {
        guard let state = RoundState(rawValue: text) else {
            throw RoundError(message: "unknown round state \"\(text)\" in the database; is this quorum older than it?")
        }
        return state
    }

    /// Whether a round may move from `self` to `next`.
    public func canAdvance(to next: RoundState) -> Bool {
        switch (self, next) {
        case (.pending, .sampling), (.sampling, .training), (.training, .evaluating), (.evaluating, .done): true
        case (.done, _), (.failed, _): false
        case (_, .failed): true
        default: false
        }
    }
}

/// A problem as the round manager publishes it.
public struct RoundProblem: Sendable, Equatable {
    public var id: String
    public var question: String
    public var gold: String?
    public var labeled: Bool
    public var source: String

    /// Creates a problem (`source`: synthetic, jsonl or self-generated).
    public init(id: String, question: String, gold: String?, labeled: Bool = false, source: String = "synthetic") {
        self.id = id
        self.question = question
        self.gold = gold
        self.labeled = labeled
        self.source = source
    }
}

/// How far a round has come, read from PostgreSQL (the source of truth).
public struct RoundProgress: Sendable, Codable, Equatable {
    public var pipeline: String
    public var round: Int
    public var state: RoundState
    public var problems: Int
    public var published: Int
    public var voted: Int
    public var pairs: Int
    public var meanWeight: Double?
    public var failure: String?

    /// Whether every problem of the round has its vote record.
    public var allVoted: Bool { problems > 0 && voted == problems }
}

/// A transition that the state machine forbids, or a pipeline that does not exist.
public struct RoundError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// Drives rounds through their states in PostgreSQL and publishes their problems to Kafka.
///
/// Every step is idempotent: registering, creating a round, publishing (only what was not yet
/// delivered), re-publishing what has no vote record — so a manager killed at any moment and started
/// again continues where it stopped.
public struct RoundManager: Sendable {
    /// The pipeline's spec.
    public let spec: PipelineSpec
    /// The database.
    public let database: PostgresClient

    /// Creates a manager.
    public init(spec: PipelineSpec, database: PostgresClient) {
        self.spec = spec
        self.database = database
    }

    /// Records the pipeline (its spec as JSON). Registering the same spec again is a no-op. A changed
    /// spec under the same name is accepted and recorded when the change is safe — more (or fewer)
    /// rounds, as long as none that exists is dropped; the number of local workers; the endpoints —
    /// and refused otherwise, naming the keys that changed.
    public func register() async throws {
        let json = String(decoding: try WireFormat.encode(spec), as: UTF8.self)
        let digest = SHA256.hexDigest(json)
        let spec = self.spec
        try await database.withTransaction { db in
            let inserted = try db.execute(
                """
                INSERT INTO pipelines (name, spec, spec_sha256) VALUES (\(spec.name), \(PostgresJSON(json)), \(digest))
                ON CONFLICT (name) DO NOTHING
                """)
            if inserted == 1 {
                // A new pipeline has consumed nothing yet: positions left by an earlier pipeline of the
                // same name (deleted, its topics gone with a broker restart) would make the sink skip
                // the new topic's first records as already stored.
                try db.execute(
                    "DELETE FROM consumer_offsets WHERE consumer_group = \("quorum.\(spec.name).sink")")
            }
            let row = try db.query(
                "SELECT spec::text AS spec, spec_sha256 FROM pipelines WHERE name = \(spec.name) FOR UPDATE")[0]
            guard try row.decode(String.self, "spec_sha256") != digest else { return }
            let stored = try JSONDecoder().decode(PipelineSpec.self, from: Data(try row.decode(String.self, "spec").utf8))
            let created = try db.query(
                "SELECT coalesce(max(number), 0) AS n FROM rounds WHERE pipeline = \(spec.name)")[0].decode(Int.self, "n")
            if let refusal = try PipelineSpec.refusal(changing: stored, to: spec, roundsCreated: created) {
                throw RoundError(
                    message: "pipeline \(spec.name) already exists with a different spec: \(refusal). Give this spec "
                        + "another name, or delete the old pipeline (`quorum pipeline delete \(spec.name) --yes`)")
            }
            try db.execute(
                "UPDATE pipelines SET spec = \(PostgresJSON(json)), spec_sha256 = \(digest) WHERE name = \(spec.name)")
        }
    }

    /// Creates round `number` with its problems (a no-op for what already exists).
    public func createRound(_ number: Int, problems: [RoundProblem]) async throws {
        let (name, tau) = (spec.name, spec.tau(forRound: number))
        try await database.withTransaction { db in
            try db.execute(
                """
                INSERT INTO rounds (pipeline, number, tau) VALUES (\(name), \(Int32(number)), \(tau))
                ON CONFLICT DO NOTHING
                """)
            let rows = problems.map { problem -> [PostgresValue] in
                [
                    name.postgresValue, Int32(number).postgresValue, problem.id.postgresValue,
                    problem.question.postgresValue,
                    problem.gold.postgresValue, problem.labeled.postgresValue, problem.source.postgresValue,
                ]
            }
            try db.execute("CREATE TEMP TABLE incoming_problems (LIKE problems INCLUDING DEFAULTS) ON COMMIT DROP")
            try db.copy(
                into: "incoming_problems",
                columns: ["pipeline", "round", "problem_id", "question", "gold", "labeled", "source"],
                rows: rows)
            try db.execute("INSERT INTO problems SELECT * FROM incoming_problems ON CONFLICT DO NOTHING")
        }
    }

    /// Moves a round to `next`, if the state machine allows it (`failed` needs a reason).
    public func advance(_ number: Int, to next: RoundState, failure: String? = nil) async throws {
        let name = spec.name
        try await database.withTransaction { db in
            let rows = try db.query(
                "SELECT state FROM rounds WHERE pipeline = \(name) AND number = \(Int32(number)) FOR UPDATE")
            guard let row = rows.first else { throw RoundError(message: "pipeline \(name) has no round \(number)") }
            let current = try RoundState.stored(try row.decode(String.self, "state"))
            if current == next { return }
            guard current.canAdvance(to: next) else {
                throw RoundError(
                    message: "round \(number) of \(name) cannot go from \(current.rawValue) to \(next.rawValue)")
            }
            try db.execute(
                """
                UPDATE rounds SET state = \(next.rawValue), failure = \(next == .failed ? (failure ?? "unknown") : nil),
                    started_at = COALESCE(started_at, CASE WHEN \(next.rawValue) = 'sampling' THEN now() END),
                    finished_at = CASE WHEN \(next.rawValue) IN ('done', 'failed') THEN now() END,
                    updated_at = now()
                WHERE pipeline = \(name) AND number = \(Int32(number))
                """)
            try db.execute(
                """
                INSERT INTO round_transitions (pipeline, round, state) VALUES (\(name), \(Int32(number)), \(next.rawValue))
                ON CONFLICT DO NOTHING
                """)
        }
    }

    /// Publishes the round's problems that were never delivered; returns how many it sent.
    @discardableResult
    public func publishPending(_ number: Int, producer: KafkaProducer) async throws -> Int {
        try await publish(number, producer: producer, condition: "published_at IS NULL")
    }

    /// Re-publishes problems that have no vote record although they were published more than
    /// `olderThan` seconds ago (a broker restart loses its in-memory queue; PostgreSQL knows what
    /// is missing). Returns how many it sent.
    @discardableResult
    public func republishMissing(_ number: Int, olderThan seconds: Double, producer: KafkaProducer) async throws -> Int
    {
        try await publish(
            number, producer: producer,
            condition: """
                published_at < now() - make_interval(secs => \(seconds)) AND NOT EXISTS (
                    SELECT 1 FROM vote_records v
                    WHERE v.pipeline = problems.pipeline AND v.round = problems.round AND v.problem_id = problems.problem_id)
                """)
    }

    private func publish(_ number: Int, producer: KafkaProducer, condition: String) async throws -> Int {
        let name = spec.name
        let run = try await runID()
        let pending = try await database.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT problem_id, question, publish_count, CASE WHEN labeled THEN gold END AS shown_gold FROM problems
                    WHERE pipeline = $1 AND round = $2 AND \(condition) ORDER BY problem_id
                    """,
                bindings: [name.postgresValue, Int32(number).postgresValue]))
        let topic = spec.tasksTopic
        let delivered = try await withThrowingTaskGroup(of: String.self) { group in
            for row in pending {
                let task = TaskMessage(
                    pipeline: name, round: number, problemID: try row.decode(String.self, "problem_id"),
                    question: try row.decode(String.self, "question"),
                    attempt: try row.decode(Int.self, "publish_count") + 1, gold: try row.decode(String?.self, "shown_gold"),
                    run: run)
                group.addTask {
                    try await producer.send(
                        topic: topic, key: Array(task.problemID.utf8), value: try WireFormat.encode(task))
                    return task.problemID
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        // Mark only what the broker acknowledged.
        for chunk in stride(from: 0, to: delivered.count, by: 1000) {
            let ids = Array(delivered[chunk..<min(chunk + 1000, delivered.count)])
            try await database.execute(
                """
                UPDATE problems SET published_at = now(), publish_count = publish_count + 1
                WHERE pipeline = \(name) AND round = \(Int32(number)) AND problem_id = ANY(\(PostgresTextArray(ids)))
                """)
        }
        return delivered.count
    }

    /// The id of this registration of the pipeline's name (a new one after a delete and a new start).
    public func runID() async throws -> String {
        let rows = try await database.query("SELECT run_id FROM pipelines WHERE name = \(spec.name)")
        guard let row = rows.first else { throw RoundError(message: "pipeline \(spec.name) is not registered") }
        return try row.decode(String.self, "run_id")
    }

    /// The numbers of the pipeline's rounds, in order.
    public func roundNumbers() async throws -> [Int] {
        try await database.query("SELECT number FROM rounds WHERE pipeline = \(spec.name) ORDER BY number").map {
            try $0.decode(Int.self, "number")
        }
    }

    /// Messages of the pipeline's votes topic that went to `dead_letters`.
    public func deadLetters() async throws -> Int {
        try await database.query("SELECT count(*) AS n FROM dead_letters WHERE topic = \(spec.votesTopic)")[0]
            .decode(Int.self, "n")
    }

    /// Vote records stored in the last `seconds`, and how many workers stored them.
    public func recentVotes(seconds: Int = 60) async throws -> (records: Int, workers: Int) {
        let row = try await database.query(
            """
            SELECT count(*) FILTER (WHERE stored_at > now() - make_interval(secs => \(Double(seconds)))) AS records,
                   count(DISTINCT worker) FILTER (WHERE stored_at > now() - make_interval(secs => \(Double(seconds))))
                       AS workers
            FROM vote_records WHERE pipeline = \(spec.name)
            """)[0]
        return (try row.decode(Int.self, "records"), try row.decode(Int.self, "workers"))
    }

    /// The round's progress.
    public func progress(_ number: Int) async throws -> RoundProgress {
        let name = spec.name
        let rows = try await database.query(
            """
            SELECT state, problems, published, voted, pairs, mean_weight::double precision AS mean_weight, failure
            FROM round_progress WHERE pipeline = \(name) AND round = \(Int32(number))
            """)
        guard let row = rows.first else { throw RoundError(message: "pipeline \(name) has no round \(number)") }
        return RoundProgress(
            pipeline: name, round: number, state: try RoundState.stored(try row.decode(String.self, "state")),
            problems: try row.decode(Int.self, "problems"), published: try row.decode(Int.self, "published"),
            voted: try row.decode(Int.self, "voted"), pairs: try row.decode(Int.self, "pairs"),
            meanWeight: try row.decode(Double?.self, "mean_weight"), failure: try row.decode(String?.self, "failure"))
    }

    /// Whether round `number` was created.
    public func roundExists(_ number: Int) async throws -> Bool {
        !(try await database.query(
            "SELECT 1 FROM rounds WHERE pipeline = \(spec.name) AND number = \(Int32(number))")
            .isEmpty)
    }

    /// Records the training run (JSON) that produced the published model M_`round`.
    public func saveTrainingRecord(_ json: String, round: Int) async throws {
        try await database.execute(
            """
            UPDATE checkpoints SET training_record = \(PostgresJSON(json))
            WHERE pipeline = \(spec.name) AND round = \(Int32(round))
            """)
    }

    /// Whether M_`round` was evaluated on the spec's evaluation split.
    public func hasEvaluation(round: Int) async throws -> Bool {
        !(try await database.query(
            """
            SELECT 1 FROM evaluations
            WHERE pipeline = \(spec.name) AND round = \(Int32(round)) AND split = \(spec.evaluation.split)
            """)
            .isEmpty)
    }

    /// Stores M_`round`'s evaluation on the spec's split, with the round's pair precision (how often
    /// a pair's chosen answer is the problem's gold answer, where one is known). Storing it again
    /// keeps the first.
    public func saveEvaluation(_ numbers: EvaluationNumbers, round: Int) async throws {
        let precision = try await database.query(
            """
            SELECT avg(CASE WHEN p.chosen_answer = q.gold THEN 1.0 ELSE 0.0 END)::double precision AS precision
            FROM pairs p JOIN problems q USING (pipeline, round, problem_id)
            WHERE p.pipeline = \(spec.name) AND p.round = \(Int32(round)) AND q.gold IS NOT NULL
            """)[0].decode(Double?.self, "precision")
        try await database.execute(
            """
            INSERT INTO evaluations (pipeline, round, split, format, problems, greedy_accuracy, majority_accuracy, k,
                                     pair_precision, outcomes)
            VALUES (\(spec.name), \(Int32(round)), \(spec.evaluation.split), \(spec.servingFormat.rawValue),
                    \(Int32(numbers.problems)), \(numbers.greedyAccuracy), \(numbers.majorityAccuracy),
                    \(Int32(numbers.k)), \(precision), \(PostgresBytes(numbers.outcomeBytes)))
            ON CONFLICT DO NOTHING
            """)
    }
}

/// A `text[]` parameter.
struct PostgresTextArray: PostgresEncodable {
    let values: [String]
    init(_ values: [String]) { self.values = values }

    var postgresValue: PostgresValue {
        let quoted = values.map { value in
            "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                + "\""
        }
        return .text("{" + quoted.joined(separator: ",") + "}", typeOID: 1009)
    }
}

extension PipelineSpec {
    /// The spec registered under `name` (by `quorum run`), read from PostgreSQL.
    public static func registered(_ name: String, database: PostgresClient) async throws -> PipelineSpec {
        let rows = try await database.query("SELECT spec::text FROM pipelines WHERE name = \(name)")
        guard let row = rows.first else {
            throw RoundError(
                message: "no pipeline named \(name) in the database; start it with `quorum run pipelines/\(name).yaml`")
        }
        return try JSONDecoder().decode(PipelineSpec.self, from: Data(try row.decode(String.self, at: 0).utf8))
    }
}
