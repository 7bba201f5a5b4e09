import Foundation
public import QuorumExperiments
public import QuorumPipeline
public import QuorumStore

/// Everything the dashboard page draws, read from PostgreSQL in one go (read-only).
public struct DashboardState: Sendable, Encodable {
    /// One pipeline: its rounds (state, progress, accuracies, timings), members, rate and curves.
    public struct Pipeline: Sendable, Encodable {
        public var name: String
        public var rounds: [RoundSummary]
        public var members: [Member]
        /// Vote records stored over the last minute, per second.
        public var problemsPerSecond: Double
        /// Seconds until the sampling round has every vote at that rate (nil when nothing samples).
        public var etaSeconds: Double?
        /// Vote records stored per minute over the last hour: (minutes ago, count).
        public var throughput: [Point]
        /// Pair weights (the vote margin (V(y+) − V(y−))/k) of the latest round with pairs, in ten bins over [0, 1].
        public var weightHistogram: [Int]
        /// The round those weights come from.
        public var histogramRound: Int?
        /// Per trained round: the loss and reward margin of every SCPO step.
        public var training: [TrainingCurve]
        /// The consumer groups' lag over the last hour (minutes ago, messages), per group.
        public var lag: [Series]
    }

    /// A named series.
    public struct Series: Sendable, Encodable {
        public var name: String
        public var points: [Point]
    }

    /// A point of a series.
    public struct Point: Sendable, Encodable {
        public var x: Double
        public var y: Double
    }

    /// One round's SCPO steps.
    public struct TrainingCurve: Sendable, Encodable {
        public var round: Int
        public var losses: [Double]
        public var rewardMargins: [Double]
    }

    /// A message set aside, for a person to read.
    public struct DeadLetter: Sendable, Encodable {
        public var topic: String
        public var partition: Int
        public var offset: Int64
        public var reason: String
        /// The first 200 bytes of the payload, non-printable bytes escaped.
        public var payload: String
        public var storedAt: String
    }

    public var generatedAt: String
    public var pipelines: [Pipeline]
    public var experiments: [ExperimentReport]
    public var deadLetters: [DeadLetter]

    /// Reads the state.
    public static func load(database: PostgresClient) async throws -> DashboardState {
        var pipelines: [Pipeline] = []
        for listing in try await PipelineListing.load(database: database) {
            pipelines.append(try await pipeline(listing.name, database: database))
        }
        var experiments: [ExperimentReport] = []
        for row in try await database.query("SELECT name FROM experiments ORDER BY created_at") {
            experiments.append(try await ExperimentReport.load(database: database, experiment: try row.decode(String.self, at: 0)))
        }
        let deadLetters = try await database.query(
            """
            SELECT topic, partition, "offset", reason, encode(substring(payload FROM 1 FOR 200), 'escape') AS payload,
                   to_char(received_at, 'YYYY-MM-DD HH24:MI:SS') AS stored
            FROM dead_letters ORDER BY received_at DESC LIMIT 10
            """
        ).map { row in
            DeadLetter(
                topic: try row.decode(String.self, "topic"), partition: try row.decode(Int.self, "partition"),
                offset: try row.decode(Int64.self, "offset"), reason: try row.decode(String.self, "reason"),
                payload: try row.decode(String.self, "payload"), storedAt: try row.decode(String.self, "stored"))
        }
        let now = try await database.query("SELECT to_char(now(), 'YYYY-MM-DD HH24:MI:SS')")[0].decode(String.self, at: 0)
        return DashboardState(generatedAt: now, pipelines: pipelines, experiments: experiments, deadLetters: deadLetters)
    }

    static func pipeline(_ name: String, database: PostgresClient) async throws -> Pipeline {
        let rounds = try await RoundSummary.load(pipeline: name, database: database)
        let members = try await Heartbeat.members(of: name, database: database)
        let recent = try await database.query(
            "SELECT count(*) FROM vote_records WHERE pipeline = \(name) AND stored_at > now() - interval '60 seconds'"
        )[0].decode(Int.self, at: 0)
        let rate = Double(recent) / 60
        let sampling = rounds.first { $0.state == "sampling" }
        let remaining = sampling.map { Double(($0.problems ?? 0) - ($0.voted ?? 0)) }
        let throughput = try await database.query(
            """
            SELECT extract(epoch FROM now() - date_trunc('minute', stored_at))::double precision / 60 AS ago, count(*)
            FROM vote_records WHERE pipeline = \(name) AND stored_at > now() - interval '1 hour'
            GROUP BY date_trunc('minute', stored_at) ORDER BY 1 DESC
            """
        ).map { Point(x: -(try $0.decode(Double.self, at: 0)).rounded(), y: Double(try $0.decode(Int.self, at: 1))) }
        let latest = try await database.query("SELECT max(round) FROM pairs WHERE pipeline = \(name)")[0]
            .decode(Int?.self, at: 0)
        var histogram = [Int](repeating: 0, count: 10)
        if let latest {
            for row in try await database.query(
                """
                SELECT least(width_bucket(weight, 0, 1, 10), 10) AS bin, count(*) FROM pairs
                WHERE pipeline = \(name) AND round = \(Int32(latest)) GROUP BY 1
                """)
            {
                histogram[max(1, try row.decode(Int.self, at: 0)) - 1] += try row.decode(Int.self, at: 1)
            }
        }
        let training = try await database.query(
            """
            SELECT round, coalesce(training_record->'step_losses', '[]')::text AS losses,
                   coalesce(training_record->'step_reward_margins', '[]')::text AS margins
            FROM checkpoints WHERE pipeline = \(name) AND round > 0 ORDER BY round
            """
        ).map { row in
            TrainingCurve(
                round: try row.decode(Int.self, "round"), losses: numbers(try row.decode(String.self, "losses")),
                rewardMargins: numbers(try row.decode(String.self, "margins")))
        }
        var lag: [String: [Point]] = [:]
        for row in try await database.query(
            """
            SELECT consumer_group, extract(epoch FROM sampled_at - now())::double precision / 60 AS ago, lag
            FROM consumer_lag WHERE pipeline = \(name) AND sampled_at > now() - interval '1 hour' ORDER BY sampled_at
            """)
        {
            let group = try row.decode(String.self, "consumer_group")
            let label = group.hasSuffix(".sink") ? "sink (votes)" : "workers (tasks)"
            lag[label, default: []].append(Point(x: try row.decode(Double.self, "ago"), y: Double(try row.decode(Int64.self, "lag"))))
        }
        return Pipeline(
            name: name, rounds: rounds, members: members, problemsPerSecond: rate,
            etaSeconds: rate > 0 ? remaining.map { $0 / rate } : nil, throughput: throughput,
            weightHistogram: histogram, histogramRound: latest, training: training,
            lag: lag.sorted { $0.key > $1.key }.map { Series(name: $0.key, points: $0.value) })
    }

    /// The numbers of a JSON array (non-numbers skipped).
    static func numbers(_ json: String) -> [Double] {
        ((try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.doubleValue }
    }
}
