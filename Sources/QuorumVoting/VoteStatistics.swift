/// Aggregate statistics over a batch of ``ProblemVoteOutcome``s: what a round's voting produced.
public struct VoteStatistics: Sendable, Hashable, Codable {
    /// How many problems ended for each reason without a trainable pair.
    public struct SkipCounts: Sendable, Hashable, Codable {
        /// V(y+) < τ·k.
        public var belowThreshold = 0
        /// Every parsable response agreed.
        public var unanimous = 0
        /// V(y+) = V(y−): w = 0.
        public var tie = 0
        /// No voting sample had a parsable answer.
        public var noParsableAnswer = 0
        /// Semi-supervised: no correct sample.
        public var noCorrect = 0
        /// Semi-supervised: no incorrect sample.
        public var noIncorrect = 0

        /// All zero.
        public init() {}

        /// The total over every reason.
        public var total: Int { belowThreshold + unanimous + tie + noParsableAnswer + noCorrect + noIncorrect }

        /// The count for one status (0 for `paired`).
        public subscript(status: ProblemVoteOutcome.Status) -> Int {
            get {
                switch status {
                case .paired: 0
                case .belowThreshold: belowThreshold
                case .unanimous: unanimous
                case .tie: tie
                case .noParsableAnswer: noParsableAnswer
                case .noCorrect: noCorrect
                case .noIncorrect: noIncorrect
                }
            }
            set {
                switch status {
                case .paired: break
                case .belowThreshold: belowThreshold = newValue
                case .unanimous: unanimous = newValue
                case .tie: tie = newValue
                case .noParsableAnswer: noParsableAnswer = newValue
                case .noCorrect: noCorrect = newValue
                case .noIncorrect: noIncorrect = newValue
                }
            }
        }

        /// The stable JSON keys (the status names).
        public enum CodingKeys: String, CodingKey, CaseIterable {
            case belowThreshold = "below_threshold"
            case unanimous, tie
            case noParsableAnswer = "no_parsable_answer"
            case noCorrect = "no_correct"
            case noIncorrect = "no_incorrect"
        }
    }

    /// How many problems had one vote margin V(y+) − V(y−).
    public struct MarginBin: Sendable, Hashable, Codable {
        /// The margin, in votes.
        public var margin: Int
        /// How many problems had it.
        public var problems: Int

        /// A bin.
        public init(margin: Int, problems: Int) {
            self.margin = margin
            self.problems = problems
        }
    }

    /// How many problems were voted on.
    public var problems: Int
    /// The voting samples over all problems (the sum of k).
    public var responses: Int
    /// The voting samples without a parsable answer.
    public var unparsableResponses: Int
    /// The trainable pairs made (ties excluded).
    public var pairs: Int
    /// Of those, made by the vote.
    public var selfConsistencyPairs: Int
    /// Of those, made from a gold label.
    public var goldPairs: Int
    /// The problems without a trainable pair, by reason.
    public var skipped: SkipCounts
    /// The mean weight of the trainable pairs; nil when there are none.
    public var meanWeight: Double?
    /// Vote pairs whose problem has a gold answer (gold pairs are correct by construction and are
    /// left out of this and the next two figures).
    public var goldKnownPairs: Int
    /// Of those, how many chose the gold answer.
    public var chosenEqualsGold: Int
    /// ``chosenEqualsGold`` / ``goldKnownPairs``; nil when no vote pair has a gold answer.
    public var chosenEqualsGoldFraction: Double?
    /// Problems by vote margin V(y+) − V(y−), ascending, over the problems where both responses were
    /// picked (trainable pairs and ties; margin 0 is the ties).
    public var marginHistogram: [MarginBin]

    /// The statistics of `outcomes`.
    public init(_ outcomes: some Sequence<ProblemVoteOutcome>) {
        problems = 0
        responses = 0
        unparsableResponses = 0
        pairs = 0
        selfConsistencyPairs = 0
        goldPairs = 0
        skipped = SkipCounts()
        goldKnownPairs = 0
        chosenEqualsGold = 0
        var weightSum = 0.0
        var margins: [Int: Int] = [:]
        for outcome in outcomes {
            problems += 1
            responses += outcome.k
            unparsableResponses += outcome.unparsable
            skipped[outcome.status] += 1
            if let margin = outcome.margin { margins[margin, default: 0] += 1 }
            guard let pair = outcome.pair else { continue }
            pairs += 1
            weightSum += pair.weight
            switch pair.source {
            case .gold: goldPairs += 1
            case .selfConsistency:
                selfConsistencyPairs += 1
                if let gold = outcome.gold {
                    goldKnownPairs += 1
                    if pair.chosenAnswer == gold { chosenEqualsGold += 1 }
                }
            }
        }
        meanWeight = pairs == 0 ? nil : weightSum / Double(pairs)
        chosenEqualsGoldFraction = goldKnownPairs == 0 ? nil : Double(chosenEqualsGold) / Double(goldKnownPairs)
        marginHistogram = margins.keys.sorted().map { MarginBin(margin: $0, problems: margins[$0]!) }
    }

    /// The stable JSON keys.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case problems, responses
        case unparsableResponses = "unparsable_responses"
        case pairs
        case selfConsistencyPairs = "self_consistency_pairs"
        case goldPairs = "gold_pairs"
        case skipped
        case meanWeight = "mean_weight"
        case goldKnownPairs = "gold_known_pairs"
        case chosenEqualsGold = "chosen_equals_gold"
        case chosenEqualsGoldFraction = "chosen_equals_gold_fraction"
        case marginHistogram = "margin_histogram"
    }

    /// Encodes every key, nulls included.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(problems, forKey: .problems)
        try container.encode(responses, forKey: .responses)
        try container.encode(unparsableResponses, forKey: .unparsableResponses)
        try container.encode(pairs, forKey: .pairs)
        try container.encode(selfConsistencyPairs, forKey: .selfConsistencyPairs)
        try container.encode(goldPairs, forKey: .goldPairs)
        try container.encode(skipped, forKey: .skipped)
        try container.encode(meanWeight, forKey: .meanWeight)
        try container.encode(goldKnownPairs, forKey: .goldKnownPairs)
        try container.encode(chosenEqualsGold, forKey: .chosenEqualsGold)
        try container.encode(chosenEqualsGoldFraction, forKey: .chosenEqualsGoldFraction)
        try container.encode(marginHistogram, forKey: .marginHistogram)
    }
}
