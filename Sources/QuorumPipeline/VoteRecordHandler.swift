import Foundation
public import QuorumKafka
public import QuorumStore
import QuorumVoting

/// Stores vote records (and their pairs) from `quorum.NAME.votes`.
///
/// A record for a problem the round does not have, or one already stored, changes nothing: the
/// former goes to the dead letters (foreign key), the latter is ignored (primary key). So does a
/// record of an earlier run of the pipeline's name (its `run` is not the pipeline's current run id).
public struct VoteRecordHandler: SinkHandler {
    /// Creates the handler.
    public init() {}

    /// The vote record's primary key (pipeline, round, problem) makes a second copy change nothing.
    public var isIdempotent: Bool { true }

    public func apply(_ message: KafkaMessage, in db: PostgresConnection) throws {
        let record = try WireFormat.decode(VoteRecordMessage.self, from: message.value)
        if let run = record.run {
            let current = try db.query("SELECT run_id FROM pipelines WHERE name = \(record.pipeline)").first
            guard let current, try current.decode(String.self, "run_id") == run else {
                throw DeadLetter(
                    "vote record of an earlier run of pipeline \(record.pipeline) (run \(run)); the name was deleted "
                        + "and started again, so its votes no longer apply")
            }
        }
        let answers = PostgresJSON(String(decoding: try WireFormat.encode(record.answers), as: UTF8.self))
        let whole = PostgresJSON(String(decoding: message.value, as: UTF8.self))
        let inserted = try db.execute(
            """
            INSERT INTO vote_records (pipeline, round, problem_id, k, answers, unparsable, outcome, worker, record)
            VALUES (\(record.pipeline), \(Int32(record.round)), \(record.problemID), \(Int32(record.k)), \(answers),
                    \(Int32(record.unparsable)), \(record.outcome), \(record.worker), \(whole))
            ON CONFLICT (pipeline, round, problem_id) DO NOTHING
            """)
        guard inserted == 1, let pair = record.pair else { return }
        try db.execute(
            """
            INSERT INTO pairs (pipeline, round, problem_id, prompt, chosen, rejected, chosen_answer, rejected_answer,
                               weight, chosen_votes, rejected_votes, k, source)
            VALUES (\(record.pipeline), \(Int32(record.round)), \(record.problemID), \(pair.prompt), \(pair.chosen),
                    \(pair.rejected), \(pair.chosenAnswer), \(pair.rejectedAnswer), \(pair.weight),
                    \(Int32(pair.chosenVotes)), \(Int32(pair.rejectedVotes)), \(Int32(record.k)), \(pair.source.rawValue))
            """)
    }
}
