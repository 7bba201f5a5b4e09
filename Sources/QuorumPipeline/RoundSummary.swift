import Foundation
public import QuorumStore

/// One row of the `round_summary` view: model M_round and the round that produced it.
public struct RoundSummary: Sendable, Codable {
    public var round: Int
    public var state: String?
    public var tau: Double?
    public var problems: Int?
    public var voted: Int?
    public var pairs: Int?
    public var meanWeight: Double?
    public var chosenCorrect: Double?
    public var evalProblems: Int?
    public var greedyAccuracy: Double?
    public var majorityAccuracy: Double?
    public var majorityK: Int?
    public var uncompressedBytes: Int?
    public var compressedBytes: Int?
    public var neuzipRatio: Double?
    public var samplingSeconds: Double?
    public var trainingSeconds: Double?
    public var evaluatingSeconds: Double?
    public var totalSeconds: Double?
    public var failure: String?
    /// Standard error of the greedy accuracy on the evaluation split (binomial).
    public var greedyStandardError: Double?
    /// Greedy accuracy minus M0's on the same problems, with its paired standard error.
    public var greedyGain: Estimate?

    enum CodingKeys: String, CodingKey {
        case round, state, tau, problems, voted, pairs, failure
        case meanWeight = "mean_weight", chosenCorrect = "chosen_correct", evalProblems = "eval_problems"
        case greedyAccuracy = "greedy_accuracy", majorityAccuracy = "majority_accuracy", majorityK = "majority_k"
        case uncompressedBytes = "uncompressed_bytes", compressedBytes = "compressed_bytes"
        case neuzipRatio = "neuzip_ratio", samplingSeconds = "sampling_seconds", trainingSeconds = "training_seconds"
        case evaluatingSeconds = "evaluating_seconds", totalSeconds = "total_seconds"
        case greedyStandardError = "greedy_standard_error", greedyGain = "greedy_gain_over_m0"
    }

    /// Every model of `pipeline`, M0 first, with the greedy accuracy's standard error and the paired
    /// gain over M0 from the stored per-problem outcomes.
    public static func load(pipeline: String, database: PostgresClient) async throws -> [RoundSummary] {
        let rows = try await database.query(
            """
            SELECT round, state, tau, problems, voted, pairs, mean_weight, chosen_correct, eval_problems,
                   greedy_accuracy, majority_accuracy, majority_k, uncompressed_bytes, compressed_bytes, neuzip_ratio,
                   sampling_seconds, training_seconds, evaluating_seconds, total_seconds, failure
            FROM round_summary WHERE pipeline = \(pipeline) ORDER BY round
            """)
        let summaries = try rows.map { row in
            RoundSummary(
                round: try row.decode(Int.self, "round"), state: try row.decode(String?.self, "state"),
                tau: try row.decode(Double?.self, "tau"), problems: try row.decode(Int?.self, "problems"),
                voted: try row.decode(Int?.self, "voted"), pairs: try row.decode(Int?.self, "pairs"),
                meanWeight: try row.decode(Double?.self, "mean_weight"),
                chosenCorrect: try row.decode(Double?.self, "chosen_correct"),
                evalProblems: try row.decode(Int?.self, "eval_problems"),
                greedyAccuracy: try row.decode(Double?.self, "greedy_accuracy"),
                majorityAccuracy: try row.decode(Double?.self, "majority_accuracy"),
                majorityK: try row.decode(Int?.self, "majority_k"),
                uncompressedBytes: try row.decode(Int?.self, "uncompressed_bytes"),
                compressedBytes: try row.decode(Int?.self, "compressed_bytes"),
                neuzipRatio: try row.decode(Double?.self, "neuzip_ratio"),
                samplingSeconds: try row.decode(Double?.self, "sampling_seconds"),
                trainingSeconds: try row.decode(Double?.self, "training_seconds"),
                evaluatingSeconds: try row.decode(Double?.self, "evaluating_seconds"),
                totalSeconds: try row.decode(Double?.self, "total_seconds"), failure: try row.decode(String?.self, "failure"))
        }
        return try await withStandardErrors(summaries, pipeline: pipeline, database: database)
    }

    /// Adds the greedy accuracy's standard error and the paired gain over M0, from the per-problem
    /// outcomes of each model's latest evaluation.
    static func withStandardErrors(_ rows: [RoundSummary], pipeline: String, database: PostgresClient) async throws
        -> [RoundSummary]
    {
        let stored = try await database.query(
            """
            SELECT DISTINCT ON (round) round, outcomes FROM evaluations
            WHERE pipeline = \(pipeline) AND outcomes IS NOT NULL ORDER BY round, created_at DESC
            """)
        var greedy: [Int: [Bool]] = [:]
        for row in stored {
            greedy[try row.decode(Int.self, "round")] = OutcomeBytes.greedy(
                try row.decode(PostgresBytes.self, "outcomes").bytes)
        }
        return rows.map { row in
            var row = row
            if let outcomes = greedy[row.round] {
                row.greedyStandardError = TableArithmetic.accuracy([outcomes])?.standardError
                if row.round > 0, let base = greedy[0] {
                    row.greedyGain = TableArithmetic.difference([(outcomes, base)])
                }
            }
            return row
        }
    }
}

