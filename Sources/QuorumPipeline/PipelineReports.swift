public import Foundation
public import QuorumKafka
public import QuorumStore
import QuorumVoting

extension RoundSummary {
    /// The rounds table as lines of text: one row per model (M0, the seed, then M_n trained in round
    /// n), with pairs, weights, accuracies, the paired gain over M0, checkpoint size and stage times;
    /// failed rounds are named below it.
    public static func table(_ rows: [RoundSummary], pipeline: String) -> [String] {
        let k = rows.compactMap(\.majorityK).first ?? 0
        func percent(_ value: Double?) -> String { value.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }
        func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "-" }
        let header = [
            "model", "state", "problems", "pairs", "mean w", "chosen ok", "greedy", "± s.e.", "vs M0",
            k > 0 ? "maj@\(k)" : "maj@k", "ckpt KiB", "NeuZip", "sample s", "train s", "eval s",
        ]
        var table = [header]
        for row in rows {
            let gain = row.greedyGain.map { gain in
                String(format: "%+.1f", gain.mean * 100)
                    + (gain.standardError.map { String(format: " ± %.1f", $0 * 100) } ?? "")
            }
            table.append([
                "M\(row.round)", row.state ?? (row.round == 0 ? "seed" : "-"), row.problems.map(String.init) ?? "-",
                row.pairs.map(String.init) ?? "-", number(row.meanWeight, "%.3f"), percent(row.chosenCorrect),
                percent(row.greedyAccuracy), number(row.greedyStandardError.map { $0 * 100 }, "%.1f"), gain ?? "-",
                percent(row.majorityAccuracy), number(row.compressedBytes.map { Double($0) / 1024 }, "%.0f"),
                number(row.neuzipRatio, "%.3f×"), number(row.samplingSeconds, "%.0f"),
                number(row.trainingSeconds, "%.0f"), number(row.evaluatingSeconds, "%.0f"),
            ])
        }
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        var lines = [
            "pipeline \(pipeline) (M_n is trained in round n on that round's pairs; M0 is the seed; "
                + "\"vs M0\": greedy points gained on the same held-out problems ± its paired standard error)"
        ]
        for line in table {
            lines.append(
                line.enumerated().map { index, cell in
                    index <= 1
                        ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: widths[index] - cell.count) + cell
                }.joined(separator: "  "))
        }
        for row in rows { if let failure = row.failure { lines.append("round \(row.round) failed: \(failure)") } }
        return lines
    }
}

extension StoredPairs {
    /// A round's pairs in TRL's preference format, one JSON object per line: `prompt`, `chosen`,
    /// `rejected` as DPOTrainer reads them, SCPO's `weight`, and where each pair came from.
    public static func trlJSONL(pipeline: String, round: Int, database: PostgresClient) async throws -> (
        lines: Data, pairs: Int
    ) {
        let spec = try await PipelineSpec.registered(pipeline, database: database)
        guard try await RoundManager(spec: spec, database: database).roundNumbers().contains(round) else {
            throw RoundError(message: "pipeline \(pipeline) has no round \(round); see `quorum rounds --pipeline \(pipeline)`")
        }
        let pairs = try await load(pipeline: pipeline, round: round, database: database)
        var output = Data()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for pair in pairs {
            output.append(try encoder.encode(TRLPair(pair)))
            output.append(0x0A)
        }
        return (output, pairs.count)
    }
}

/// A pair as TRL reads it, plus SCPO's weight and where it came from.
struct TRLPair: Codable {
    var prompt: String
    var chosen: String
    var rejected: String
    var weight: Double
    var problemID: String
    var round: Int
    var chosenAnswer: String?
    var rejectedAnswer: String?
    var chosenVotes: Int
    var rejectedVotes: Int
    var k: Int
    var source: String

    init(_ pair: PreferencePair) {
        prompt = pair.prompt
        chosen = pair.chosen
        rejected = pair.rejected
        weight = pair.weight
        problemID = pair.problemID
        round = pair.round
        chosenAnswer = pair.chosenAnswer.isEmpty ? nil : pair.chosenAnswer
        rejectedAnswer = pair.rejectedAnswer
        chosenVotes = pair.chosenVotes
        rejectedVotes = pair.rejectedVotes
        k = pair.k
        source = pair.source.rawValue
    }

    enum CodingKeys: String, CodingKey {
        case prompt, chosen, rejected, weight, round, k, source
        case problemID = "problem_id", chosenAnswer = "chosen_answer", rejectedAnswer = "rejected_answer"
        case chosenVotes = "chosen_votes", rejectedVotes = "rejected_votes"
    }
}

/// A pipeline's state as `quorum status` shows it: its rounds (from PostgreSQL, the source of
/// truth), dead letters, the last minute's rate and the open round's ETA, and Kafka consumer lag.
public struct PipelineStatus: Encodable, Sendable {
    /// One partition's lag of a consumer group.
    public struct PartitionLag: Encodable, Sendable {
        public var partition: Int
        public var committed: Int64?
        public var high: Int64
        public var lag: Int64
    }

    public var pipeline: String
    public var rounds: [RoundProgress]
    public var deadLetters: Int
    public var tasksLag: Int64?
    public var votesLag: Int64?
    public var tasksLagByPartition: [PartitionLag]?
    public var votesLagByPartition: [PartitionLag]?
    public var problemsPerSecond: Double
    /// Workers whose heartbeat is recent (see ``Heartbeat``), whatever the round is doing.
    public var activeWorkers: Int
    /// Every worker and sink process that ever beat for this pipeline: live, dead or stopped.
    public var members: [Member]
    public var samplingRound: Int?
    public var etaSeconds: Double?

    /// Reads the status of the pipeline `spec` names; lag is nil for a topic or group Kafka does not know.
    public static func load(spec: PipelineSpec, database: PostgresClient, kafka: KafkaConfiguration) async throws
        -> PipelineStatus
    {
        let manager = RoundManager(spec: spec, database: database)
        var rounds: [RoundProgress] = []
        for number in try await manager.roundNumbers() { rounds.append(try await manager.progress(number)) }
        let admin = try KafkaAdmin(configuration: kafka)
        func lags(_ group: String, _ topic: String) async -> [PartitionLag]? {
            guard let partitions = try? await admin.lag(group: group, topic: topic) else { return nil }
            return partitions.map {
                PartitionLag(
                    partition: Int($0.topicPartition.partition), committed: $0.committedOffset,
                    high: $0.highWatermark, lag: $0.lag)
            }
        }
        // Rates over the last minute, from when vote records were stored; ETA for the open round.
        let (perMinute, _) = try await manager.recentVotes(seconds: 60)
        let members = try await Heartbeat.members(of: spec.name, database: database)
        let rate = Double(perMinute) / 60
        let open = rounds.first { $0.state == .sampling }
        let eta = open.flatMap { rate > 0 ? Double($0.problems - $0.voted) / rate : nil }
        let taskLags = await lags("quorum.\(spec.name).workers", spec.tasksTopic)
        let voteLags = await lags("quorum.\(spec.name).sink", spec.votesTopic)
        return PipelineStatus(
            pipeline: spec.name, rounds: rounds, deadLetters: try await manager.deadLetters(),
            tasksLag: taskLags?.reduce(0) { $0 + $1.lag }, votesLag: voteLags?.reduce(0) { $0 + $1.lag },
            tasksLagByPartition: taskLags, votesLagByPartition: voteLags, problemsPerSecond: rate,
            activeWorkers: members.filter { $0.role == "worker" && $0.state == .live }.count, members: members,
            samplingRound: open?.round, etaSeconds: eta)
    }

    /// The status as lines of text.
    public var lines: [String] {
        var lines = ["pipeline \(pipeline)"]
        for round in rounds {
            let weight = round.meanWeight.map { String(format: "%.3f", $0) } ?? "-"
            lines.append(
                "  round \(round.round): \(round.state.rawValue)  problems \(round.problems)  "
                    + "published \(round.published)  voted \(round.voted)  pairs \(round.pairs)  mean weight \(weight)"
                    + (round.failure.map { "  failed: \($0)" } ?? ""))
        }
        let open = rounds.first { $0.round == samplingRound }
        lines.append(
            String(format: "  rate %.2f problems/s over the last minute (%d live workers)", problemsPerSecond, activeWorkers)
                + (open.map { round in
                    " — round \(round.round): \(round.problems - round.voted) to go"
                        + (etaSeconds.map { String(format: ", ETA %.0f s", $0) } ?? "")
                } ?? ""))
        lines.append("  dead letters \(deadLetters)")
        // Every live member; of the dead and stopped ones, the ten heard from last.
        let live = members.filter { $0.state == .live }
        let gone = members.filter { $0.state != .live }.sorted { $0.lastSeen > $1.lastSeen }.prefix(10)
        lines.append("  members: \(live.count) live, \(members.count - live.count) dead or stopped")
        for member in live + gone {
            lines.append("    \(member.line)")
        }
        func describe(_ title: String, _ lags: [PartitionLag]?) -> String {
            guard let lags else { return "  \(title): topic not found" }
            let parts = lags.map { "p\($0.partition) \($0.lag)" }.joined(separator: ", ")
            return "  \(title) \(lags.reduce(0) { $0 + $1.lag }): \(parts)"
        }
        lines.append(describe("task lag (workers)", tasksLagByPartition))
        lines.append(describe("vote lag (sink)", votesLagByPartition))
        return lines
    }
}

extension SinkStatistics {
    /// "120 stored, 0 seen before, 1 dead letters in 7 batches; 0.42 s in transactions (286 records/s)".
    public var line: String {
        "\(applied) stored, \(skippedAsDuplicate + reapplied) seen before, "
            + "\(deadLettered) dead letters in \(batches) batches; "
            + (lostCommits > 0 ? "\(lostCommits) Kafka commits lost to rebalances; " : "")
            + String(
                format: "%.2f s in transactions (%.0f records/s)", storeSeconds,
                storeSeconds > 0 ? Double(applied + deadLettered) / storeSeconds : 0)
    }
}
