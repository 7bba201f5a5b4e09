/// What voting made of one problem: the vote counts, and the pair or the reason there is none.
///
/// This is the per-problem record a worker publishes (Kafka → PostgreSQL), so it is JSON with stable
/// snake_case keys and a ``schema`` version; every key is always written (null when empty). The
/// status is written under `outcome`, with the values of the `vote_records.outcome` column
/// (migrations/0002_pipeline.sql).
public struct ProblemVoteOutcome: Sendable, Hashable, Codable {
    /// The version of this record's JSON shape, written in ``schema``.
    public static let schemaVersion = 1

    /// One answer's votes.
    public struct AnswerVotes: Sendable, Hashable, Codable {
        /// The canonical final answer.
        public var answer: String
        /// V(y): how many of the k voting samples gave it.
        public var votes: Int
        /// How many non-voting extra samples gave it.
        public var extraSamples: Int

        /// Votes for one answer.
        public init(answer: String, votes: Int, extraSamples: Int = 0) {
            self.answer = answer
            self.votes = votes
            self.extraSamples = extraSamples
        }

        /// The stable JSON keys.
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case answer, votes
            case extraSamples = "extra_samples"
        }
    }

    /// Whether a trainable pair was made, and if not, why.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// A pair with weight > 0 was made (on the wire: `pair`).
        case paired = "pair"
        /// The most-voted answer has fewer than τ·k votes (SCPO: the problem is not kept).
        case belowThreshold = "below_threshold"
        /// Every parsable response agrees: there is no rejected answer.
        case unanimous
        /// The chosen and rejected answers have equal votes, so w = 0 and the pair carries no loss.
        case tie
        /// No voting sample has a parsable answer.
        case noParsableAnswer = "no_parsable_answer"
        /// Semi-supervised: no voting sample is correct.
        case noCorrect = "no_correct"
        /// Semi-supervised: no sample is incorrect.
        case noIncorrect = "no_incorrect"
    }

    /// The record's JSON shape version (``schemaVersion`` when made by this code).
    public var schema: Int
    /// The problem's id.
    public var problemID: String
    /// The pipeline round whose samples were voted on (numbered from 1, as in the `rounds` table).
    public var round: Int
    /// The pair-selection mode in force.
    public var mode: PairSelection.Mode
    /// k: the number of voting samples (including those without a parsable answer).
    public var k: Int
    /// Every answer that received at least one vote, in canonical order (most votes first, then by
    /// UTF-8 bytes).
    public var answers: [AnswerVotes]
    /// Answers seen only among non-voting extra samples (their `votes` is 0), by UTF-8 bytes.
    public var extraAnswers: [AnswerVotes]
    /// How many voting samples had no parsable answer (they cast no vote).
    public var unparsable: Int
    /// How many extra samples did not vote (0 when extra samples count as votes).
    public var extraSamples: Int
    /// How many of those non-voting extra samples had no parsable answer.
    public var unparsableExtraSamples: Int
    /// The canonical gold answer, when the problem has one.
    public var gold: String?
    /// Whether a pair was made, or why not.
    public var status: Status
    /// The trainable pair; non-nil exactly when ``status`` is ``Status/paired``.
    public var pair: PreferencePair?
    /// V(y+) − V(y−) when a chosen and a rejected response were picked (pairs and ties); nil
    /// otherwise. Negative only for a gold pair whose rejected answer out-voted the correct one.
    public var margin: Int?

    /// A record from its fields (``schema`` is set to ``schemaVersion``).
    public init(
        problemID: String, round: Int, mode: PairSelection.Mode, k: Int, answers: [AnswerVotes],
        extraAnswers: [AnswerVotes] = [], unparsable: Int, extraSamples: Int, unparsableExtraSamples: Int,
        gold: String?, status: Status, pair: PreferencePair?,
        margin: Int?
    ) {
        schema = Self.schemaVersion
        self.problemID = problemID
        self.round = round
        self.mode = mode
        self.k = k
        self.answers = answers
        self.extraAnswers = extraAnswers
        self.unparsable = unparsable
        self.extraSamples = extraSamples
        self.unparsableExtraSamples = unparsableExtraSamples
        self.gold = gold
        self.status = status
        self.pair = pair
        self.margin = margin
    }

    /// Whether the problem yields a pair to train on.
    public var isTrainable: Bool { pair != nil }

    /// The stable JSON keys.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case schema
        case problemID = "problem_id"
        case round, mode, k, answers
        case extraAnswers = "extra_answers"
        case unparsable
        case extraSamples = "extra_samples"
        case unparsableExtraSamples = "unparsable_extra_samples"
        case gold
        case status = "outcome"
        case pair, margin
    }

    /// Encodes every key, nulls included, so the record's shape never varies.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(problemID, forKey: .problemID)
        try container.encode(round, forKey: .round)
        try container.encode(mode, forKey: .mode)
        try container.encode(k, forKey: .k)
        try container.encode(answers, forKey: .answers)
        try container.encode(extraAnswers, forKey: .extraAnswers)
        try container.encode(unparsable, forKey: .unparsable)
        try container.encode(extraSamples, forKey: .extraSamples)
        try container.encode(unparsableExtraSamples, forKey: .unparsableExtraSamples)
        try container.encode(gold, forKey: .gold)
        try container.encode(status, forKey: .status)
        try container.encode(pair, forKey: .pair)
        try container.encode(margin, forKey: .margin)
    }
}
