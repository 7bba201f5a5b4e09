import Foundation
public import QuorumStore
public import QuorumVoting

/// A round's rows of the `pairs` table, decoded by column name into ``PreferencePair``s.
public enum StoredPairs {
    /// Every pair of `pipeline`'s round `round`, ordered by problem id.
    public static func load(pipeline: String, round: Int, database: PostgresClient) async throws -> [PreferencePair] {
        let rows = try await database.query(
            """
            SELECT problem_id, prompt, chosen, rejected, chosen_answer, rejected_answer, weight, chosen_votes,
                   rejected_votes, k, source
            FROM pairs WHERE pipeline = \(pipeline) AND round = \(Int32(round)) ORDER BY problem_id
            """)
        return try rows.map { row in
            let source = try row.decode(String.self, "source")
            guard let kind = PreferencePair.Source(rawValue: source) else {
                throw RoundError(message: "pair source \"\(source)\" in the database is not one this version knows")
            }
            return PreferencePair(
                problemID: try row.decode(String.self, "problem_id"), round: round,
                prompt: try row.decode(String.self, "prompt"), chosen: try row.decode(String.self, "chosen"),
                rejected: try row.decode(String.self, "rejected"),
                chosenAnswer: try row.decode(String?.self, "chosen_answer") ?? "",
                rejectedAnswer: try row.decode(String?.self, "rejected_answer"),
                weight: try row.decode(Double.self, "weight"), chosenVotes: try row.decode(Int.self, "chosen_votes"),
                rejectedVotes: try row.decode(Int.self, "rejected_votes"), k: try row.decode(Int.self, "k"),
                source: kind)
        }
    }
}
