/// One weighted preference pair: a chosen and a rejected response to the same prompt.
///
/// It is what the SCPO loss trains on (docs/papers.md §1 step 6):
/// `L = −w·log σ(β·[…chosen…] − β·[…rejected…]) − α·w·log Mθ(y+|x)/|y+|`.
/// It travels as JSON (Kafka → PostgreSQL, JSONL files) with the snake_case keys of ``CodingKeys``,
/// which are the columns of the `pairs` table (migrations/0002_pipeline.sql); ``Source`` values are
/// that table's `source` values.
public struct PreferencePair: Sendable, Hashable, Codable {
    /// Where the preference comes from.
    public enum Source: String, Sendable, Hashable, Codable, CaseIterable {
        /// The vote: y+ from the most-voted answer, y− from the least-voted one.
        case selfConsistency = "self-consistency"
        /// A gold label: y+ correct, y− incorrect (semi-supervised SCPO, IRPO).
        case gold
    }

    /// The problem's id.
    public var problemID: String
    /// The pipeline round whose samples made the pair (numbered from 1, as in the `rounds` table).
    public var round: Int
    /// The prompt x.
    public var prompt: String
    /// The chosen response y+.
    public var chosen: String
    /// The rejected response y−.
    public var rejected: String
    /// The chosen response's final answer.
    public var chosenAnswer: String
    /// The rejected response's final answer; nil only for a gold pair whose rejected response has
    /// no parsable answer.
    public var rejectedAnswer: String?
    /// The weight w ∈ [0, 1]: (V(y+) − V(y−)) / k for a weighted vote pair, 1 for gold and
    /// unweighted pairs.
    public var weight: Double
    /// V(y+): votes of the chosen answer among the k voting samples.
    public var chosenVotes: Int
    /// V(y−): votes of the rejected answer among the k voting samples (0 when it was only seen among
    /// non-voting extra samples, or has no answer).
    public var rejectedVotes: Int
    /// k: the number of voting samples of the problem.
    public var k: Int
    /// Whether the preference came from the vote or from a gold label.
    public var source: Source

    /// A pair from its fields.
    public init(
        problemID: String, round: Int, prompt: String, chosen: String, rejected: String, chosenAnswer: String,
        rejectedAnswer: String?, weight: Double, chosenVotes: Int, rejectedVotes: Int, k: Int, source: Source
    ) {
        self.problemID = problemID
        self.round = round
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.chosenAnswer = chosenAnswer
        self.rejectedAnswer = rejectedAnswer
        self.weight = weight
        self.chosenVotes = chosenVotes
        self.rejectedVotes = rejectedVotes
        self.k = k
        self.source = source
    }

    /// The stable JSON keys.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case problemID = "problem_id"
        case round, prompt, chosen, rejected
        case chosenAnswer = "chosen_answer"
        case rejectedAnswer = "rejected_answer"
        case weight
        case chosenVotes = "chosen_votes"
        case rejectedVotes = "rejected_votes"
        case k, source
    }

    /// Encodes every key, `rejected_answer` as null when absent, so the record's shape never varies.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(problemID, forKey: .problemID)
        try container.encode(round, forKey: .round)
        try container.encode(prompt, forKey: .prompt)
        try container.encode(chosen, forKey: .chosen)
        try container.encode(rejected, forKey: .rejected)
        try container.encode(chosenAnswer, forKey: .chosenAnswer)
        try container.encode(rejectedAnswer, forKey: .rejectedAnswer)
        try container.encode(weight, forKey: .weight)
        try container.encode(chosenVotes, forKey: .chosenVotes)
        try container.encode(rejectedVotes, forKey: .rejectedVotes)
        try container.encode(k, forKey: .k)
        try container.encode(source, forKey: .source)
    }
}

extension PreferencePair {
    /// What makes the pair unusable for training, or nil: a weight outside [0, 1] (SCPO's weight is a
    /// vote margin over k), vote counts outside 0…k, an empty chosen response, or a round below 1.
    public var inconsistency: String? {
        if !(0...1).contains(weight) { return "weight \(weight) is outside [0, 1]" }
        if k < 1 || !(0...k).contains(chosenVotes) || !(0...k).contains(rejectedVotes) {
            return "vote counts \(chosenVotes) and \(rejectedVotes) must lie in 0…k with k ≥ 1 (k = \(k))"
        }
        if chosen.isEmpty { return "the chosen response is empty" }
        if round < 1 { return "round \(round) is below 1" }
        return nil
    }
}
