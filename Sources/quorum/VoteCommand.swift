import ArgumentParser
import Foundation
import QuorumVoting

/// `quorum vote`: self-consistency votes and weighted preference pairs from sampled responses.
struct VoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vote",
        abstract: "Vote on sampled responses and build SCPO preference pairs (pure logic, no model).",
        discussion: """
            Each line of --samples is {"problem_id", "prompt", "response", "answer"?, "gold"?, "extra"?}. \
            Without "answer" the final "#### <number>" line of the response is extracted; "answer": null \
            means the response has none. "extra": true marks an extra high-temperature sample: by default it \
            does not vote and only serves as a rejected candidate (--extras-vote makes it vote). Rows are \
            grouped by problem id. Pair selection follows SCPO (Prasad et al. 2024): y+ from the most-voted \
            answer, y- from the least-voted, kept if V(y+) >= tau*k, weight (V(y+) - V(y-))/k; unanimous \
            problems and ties (weight 0) make no pair but are counted. The same seed, round and input always \
            give the same pairs.
            """)

    @Option(help: "The JSONL file of sampled responses.")
    var samples: String

    @Option(help: "Threshold tau as a fraction of k: keep a problem only if V(y+) >= tau*k (paper: 0.5 in round 1).")
    var tau: Double = 0.5

    @Option(help: "Seed of the random choices (combined with each problem id and the round).")
    var seed: UInt64 = 0

    @Option(help: "The pipeline round (from 1): recorded in every pair and part of the random choices' seed.")
    var round: Int = 1

    @Option(
        help: "scpo (weighted vote), semi (gold pairs where \"gold\" is given, vote elsewhere) or unweighted (w = 1).")
    var mode = PairSelection.Mode.selfConsistency

    @Flag(name: .customLong("extras-vote"), help: "Count extra high-temperature samples as votes.")
    var extrasCountAsVotes = false

    @Option(help: "Write the trainable pairs here as JSONL (ties excluded).")
    var out: String?

    @Option(help: "Write every problem's full outcome record here as JSONL.")
    var outcomes: String?

    @Flag(help: "Print per-problem statistics and the summary as JSON.")
    var json = false

    func validate() throws {
        do {
            try settings.validate()
        } catch {
            throw ValidationError(error.message)
        }
        guard round >= 1 else { throw ValidationError("--round must be 1 or more (got \(round))") }
    }

    /// The pair-selection settings from the flags.
    var settings: PairSelection {
        PairSelection(
            tau: tau, seed: seed, extrasCountAsVotes: extrasCountAsVotes,
            mode: mode)
    }

    func run() async throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: samples))
        } catch {
            throw VoteCommandError("cannot read \(samples): \(error.localizedDescription); check the path")
        }
        let problems: [ProblemSamples]
        do {
            problems = try SamplesJSONL.decode(data)
        } catch {
            throw VoteCommandError("\(samples) \(error.message)")
        }
        let settings = settings
        let results = settings.outcomes(for: problems, round: round)
        let summary = VoteStatistics(results)
        if let out { try write(results.compactMap(\.pair), to: out) }
        if let outcomes { try write(results, to: outcomes) }
        if json {
            try printJSON(
                VoteReport(
                    samples: samples, round: round, settings: settings, out: out, outcomes: outcomes,
                    problems: results.map(ProblemLine.init), summary: summary))
        } else {
            for result in results { print(Self.describe(result)) }
            print(Self.describe(summary, settings: settings))
            if let out { print("wrote \(summary.pairs) pairs to \(out)") }
            if let outcomes { print("wrote \(results.count) outcome records to \(outcomes)") }
        }
    }

    /// Writes records as JSONL, replacing the file.
    private func write<Record: Encodable>(_ records: [Record], to path: String) throws {
        do {
            try PairsJSONL.encode(records).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw VoteCommandError(
                "cannot write \(path): \(error.localizedDescription); check that the folder exists and is writable")
        }
    }

    /// One problem as a line of text.
    static func describe(_ outcome: ProblemVoteOutcome) -> String {
        var votes = (outcome.answers + outcome.extraAnswers).map { answer in
            "\(answer.answer):\(answer.votes)" + (answer.extraSamples > 0 ? "+\(answer.extraSamples)x" : "")
        }
        if outcome.unparsable > 0 { votes.append("none:\(outcome.unparsable)") }
        var line = "\(outcome.problemID)  k=\(outcome.k)  [\(votes.joined(separator: " "))]"
        if let gold = outcome.gold { line += "  gold=\(gold)" }
        if let pair = outcome.pair {
            line +=
                "  -> pair \(pair.chosenAnswer) over \(pair.rejectedAnswer ?? "none") "
                + "(\(pair.chosenVotes) vs \(pair.rejectedVotes), w=\(format(pair.weight)), \(pair.source.rawValue))"
        } else {
            line += "  -> no pair: \(outcome.status.rawValue)"
        }
        return line
    }

    /// The summary as text.
    static func describe(_ summary: VoteStatistics, settings: PairSelection) -> String {
        let skipped = ProblemVoteOutcome.Status.allCases.filter { $0 != .paired && summary.skipped[$0] > 0 }
            .map { "\($0.rawValue) \(summary.skipped[$0])" }
        let margins = summary.marginHistogram.map { "\($0.margin): \($0.problems)" }
        let meanWeight = summary.meanWeight.map(format) ?? "n/a"
        let counts =
            "problems \(summary.problems), pairs \(summary.pairs) "
            + "(vote \(summary.selfConsistencyPairs), gold \(summary.goldPairs))"
        let skippedLine = "skipped: " + (skipped.isEmpty ? "none" : skipped.joined(separator: ", "))
        let weightLine =
            "mean weight \(meanWeight); unparsable responses \(summary.unparsableResponses) of \(summary.responses)"
        let marginLine =
            "vote margins (margin: problems): " + (margins.isEmpty ? "none" : margins.joined(separator: ", "))
        var lines: [String] = [
            counts + ", mode \(settings.mode.rawValue), tau \(format(settings.tau))", skippedLine, weightLine,
            marginLine,
        ]
        if let fraction = summary.chosenEqualsGoldFraction {
            lines.append(
                "chosen answer equals gold in \(summary.chosenEqualsGold) of \(summary.goldKnownPairs) vote pairs "
                    + "(\(format(fraction)))")
        }
        return lines.joined(separator: "\n")
    }

    /// A number with three decimals.
    static func format(_ value: Double) -> String {
        String(format: "%.3f", value)
    }
}

/// The `--json` document: the settings, one compact line per problem and the summary.
private struct VoteReport: Encodable {
    /// The samples file.
    var samples: String
    /// The round recorded in the pairs.
    var round: Int
    /// The pair-selection settings.
    var settings: PairSelection
    /// Where the pairs were written, if anywhere.
    var out: String?
    /// Where the outcome records were written, if anywhere.
    var outcomes: String?
    /// Per-problem statistics.
    var problems: [ProblemLine]
    /// The aggregate.
    var summary: VoteStatistics

    /// JSON keys.
    enum CodingKeys: String, CodingKey {
        case samples, round, settings, out, outcomes, problems, summary
    }

    /// Encodes every key, nulls included.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(samples, forKey: .samples)
        try container.encode(round, forKey: .round)
        try container.encode(settings, forKey: .settings)
        try container.encode(out, forKey: .out)
        try container.encode(outcomes, forKey: .outcomes)
        try container.encode(problems, forKey: .problems)
        try container.encode(summary, forKey: .summary)
    }
}

/// One problem's statistics without the response texts.
private struct ProblemLine: Encodable {
    /// The problem's id.
    var problemID: String
    /// The number of voting samples.
    var k: Int
    /// Votes per answer.
    var answers: [ProblemVoteOutcome.AnswerVotes]
    /// Answers seen only among non-voting extra samples.
    var extraAnswers: [ProblemVoteOutcome.AnswerVotes]
    /// Voting samples without an answer.
    var unparsable: Int
    /// Non-voting extra samples.
    var extraSamples: Int
    /// The canonical gold answer.
    var gold: String?
    /// `pair`, or why there is none.
    var status: ProblemVoteOutcome.Status
    /// V(y+) − V(y−) when both were picked.
    var margin: Int?
    /// The pair's weight.
    var weight: Double?
    /// The pair's chosen answer.
    var chosenAnswer: String?
    /// The pair's rejected answer.
    var rejectedAnswer: String?
    /// The pair's source.
    var source: PreferencePair.Source?

    /// The line of one outcome.
    init(_ outcome: ProblemVoteOutcome) {
        problemID = outcome.problemID
        k = outcome.k
        answers = outcome.answers
        extraAnswers = outcome.extraAnswers
        unparsable = outcome.unparsable
        extraSamples = outcome.extraSamples
        gold = outcome.gold
        status = outcome.status
        margin = outcome.margin
        weight = outcome.pair?.weight
        chosenAnswer = outcome.pair?.chosenAnswer
        rejectedAnswer = outcome.pair?.rejectedAnswer
        source = outcome.pair?.source
    }

    /// JSON keys.
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
    func encode(to encoder: any Encoder) throws {
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
        try container.encode(weight, forKey: .weight)
        try container.encode(chosenAnswer, forKey: .chosenAnswer)
        try container.encode(rejectedAnswer, forKey: .rejectedAnswer)
        try container.encode(source, forKey: .source)
    }
}

/// A failure while running `quorum vote`: printed as `Error: <message>` without usage text.
private struct VoteCommandError: Error, CustomStringConvertible {
    /// What went wrong and what to do.
    let description: String

    init(_ description: String) { self.description = description }
}
