import Foundation

/// What voting on a samples file produced, as `quorum vote` shows it: the settings, one compact
/// record per problem (no response texts) and the summary; Encodable with every key, nulls included.
public struct VoteReport: Encodable, Sendable {
    /// The samples file.
    public var samples: String
    /// The round recorded in the pairs.
    public var round: Int
    /// The pair-selection settings.
    public var settings: PairSelection
    /// Where the pairs were written, if anywhere.
    public var out: String?
    /// Where the outcome records were written, if anywhere.
    public var outcomes: String?
    /// Per-problem statistics.
    public var problems: [ProblemLine]
    /// The aggregate.
    public var summary: VoteStatistics

    /// The report of `outcomes`, voted on with `settings`.
    public init(
        samples: String, round: Int, settings: PairSelection, out: String?, outcomes: String?,
        results: [ProblemVoteOutcome]
    ) {
        self.samples = samples
        self.round = round
        self.settings = settings
        self.out = out
        self.outcomes = outcomes
        problems = results.map(ProblemLine.init)
        summary = VoteStatistics(results)
    }

    enum CodingKeys: String, CodingKey {
        case samples, round, settings, out, outcomes, problems, summary
    }

    /// Encodes every key, nulls included.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(samples, forKey: .samples)
        try container.encode(round, forKey: .round)
        try container.encode(settings, forKey: .settings)
        try container.encode(out, forKey: .out)
        try container.encode(outcomes, forKey: .outcomes)
        try container.encode(problems, forKey: .problems)
        try container.encode(summary, forKey: .summary)
    }

    /// The report as text: a line per problem, then the summary and where files went.
    public var lines: [String] {
        var lines = problems.map(\.text)
        lines.append(Self.describe(summary, settings: settings))
        if let out { lines.append("wrote \(summary.pairs) pairs to \(out)") }
        if let outcomes { lines.append("wrote \(problems.count) outcome records to \(outcomes)") }
        return lines
    }

    /// The summary as text.
    static func describe(_ summary: VoteStatistics, settings: PairSelection) -> String {
        let skipped = ProblemVoteOutcome.Status.allCases.filter { $0 != .paired && summary.skipped[$0] > 0 }
            .map { "\($0.rawValue) \(summary.skipped[$0])" }
        let margins = summary.marginHistogram.map { "\($0.margin): \($0.problems)" }
        let counts: String =
            "problems \(summary.problems), pairs \(summary.pairs) "
            + "(vote \(summary.selfConsistencyPairs), gold \(summary.goldPairs)), "
            + "mode \(settings.mode.rawValue), tau \(threeDecimals(settings.tau))"
        let skippedLine: String = "skipped: " + (skipped.isEmpty ? "none" : skipped.joined(separator: ", "))
        let meanWeight: String = summary.meanWeight.map(threeDecimals) ?? "n/a"
        let weightLine: String =
            "mean weight \(meanWeight); unparsable responses \(summary.unparsableResponses) of \(summary.responses)"
        let marginLine: String =
            "vote margins (margin: problems): " + (margins.isEmpty ? "none" : margins.joined(separator: ", "))
        var lines = [counts, skippedLine, weightLine, marginLine]
        if let fraction = summary.chosenEqualsGoldFraction {
            lines.append(
                "chosen answer equals gold in \(summary.chosenEqualsGold) of \(summary.goldKnownPairs) vote pairs "
                    + "(\(threeDecimals(fraction)))")
        }
        return lines.joined(separator: "\n")
    }

    /// One problem's statistics without the response texts.
    public struct ProblemLine: Encodable, Sendable {
        /// The problem's id.
        public var problemID: String
        /// The number of voting samples.
        public var k: Int
        /// Votes per answer.
        public var answers: [ProblemVoteOutcome.AnswerVotes]
        /// Answers seen only among non-voting extra samples.
        public var extraAnswers: [ProblemVoteOutcome.AnswerVotes]
        /// Voting samples without an answer.
        public var unparsable: Int
        /// Non-voting extra samples.
        public var extraSamples: Int
        /// The canonical gold answer.
        public var gold: String?
        /// `pair`, or why there is none.
        public var status: ProblemVoteOutcome.Status
        /// V(y+) − V(y−) when both were picked.
        public var margin: Int?
        /// The pair, if the problem made one.
        var pair: PreferencePair?

        /// The line of one outcome.
        public init(_ outcome: ProblemVoteOutcome) {
            problemID = outcome.problemID
            k = outcome.k
            answers = outcome.answers
            extraAnswers = outcome.extraAnswers
            unparsable = outcome.unparsable
            extraSamples = outcome.extraSamples
            gold = outcome.gold
            status = outcome.status
            margin = outcome.margin
            pair = outcome.pair
        }

        /// The problem as one line of text: votes per answer, gold, and the pair or why there is none.
        public var text: String {
            var votes = (answers + extraAnswers).map { answer in
                "\(answer.answer):\(answer.votes)" + (answer.extraSamples > 0 ? "+\(answer.extraSamples)x" : "")
            }
            if unparsable > 0 { votes.append("none:\(unparsable)") }
            var line = "\(problemID)  k=\(k)  [\(votes.joined(separator: " "))]"
            if let gold { line += "  gold=\(gold)" }
            if let pair {
                line +=
                    "  -> pair \(pair.chosenAnswer) over \(pair.rejectedAnswer ?? "none") "
                    + "(\(pair.chosenVotes) vs \(pair.rejectedVotes), w=\(threeDecimals(pair.weight)), "
                    + "\(pair.source.rawValue))"
            } else {
                line += "  -> no pair: \(status.rawValue)"
            }
            return line
        }

        enum CodingKeys: String, CodingKey {
            case problemID = "problem_id"
            case k, answers
            case extraAnswers = "extra_answers"
            case unparsable
            case extraSamples = "extra_samples"
            case gold
            case status = "outcome"
            case margin, weight
            case chosenAnswer = "chosen_answer"
            case rejectedAnswer = "rejected_answer"
            case source
        }

        /// Encodes every key, nulls included.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(problemID, forKey: .problemID)
            try container.encode(k, forKey: .k)
            try container.encode(answers, forKey: .answers)
            try container.encode(extraAnswers, forKey: .extraAnswers)
            try container.encode(unparsable, forKey: .unparsable)
            try container.encode(extraSamples, forKey: .extraSamples)
            try container.encode(gold, forKey: .gold)
            try container.encode(status, forKey: .status)
            try container.encode(margin, forKey: .margin)
            try container.encode(pair?.weight, forKey: .weight)
            try container.encode(pair?.chosenAnswer, forKey: .chosenAnswer)
            try container.encode(pair?.rejectedAnswer, forKey: .rejectedAnswer)
            try container.encode(pair?.source, forKey: .source)
        }
    }
}

/// A number with three decimals.
private func threeDecimals(_ value: Double) -> String { String(format: "%.3f", value) }
