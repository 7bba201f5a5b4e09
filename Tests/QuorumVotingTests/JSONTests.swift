import Foundation
import Testing

@testable import QuorumVoting

@Suite("JSON records")
struct JSONTests {
    /// The top-level keys of a JSON object.
    func keys(_ data: Data) throws -> Set<String> {
        Set(try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys)
    }

    let pair = PreferencePair(
        problemID: "gsm-17", round: 2, prompt: "Q?", chosen: "so\n#### 4", rejected: "hm\n#### 5", chosenAnswer: "4",
        rejectedAnswer: "5", weight: 0.375, chosenVotes: 5, rejectedVotes: 2, k: 8, source: .selfConsistency)

    @Test("a pair round-trips with exactly its snake_case keys")
    func pairRoundTrip() throws {
        let data = try JSONEncoder().encode(pair)
        #expect(
            try keys(data) == [
                "problem_id", "round", "prompt", "chosen", "rejected", "chosen_answer", "rejected_answer", "weight",
                "chosen_votes", "rejected_votes", "k", "source",
            ])
        #expect(try JSONDecoder().decode(PreferencePair.self, from: data) == pair)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["source"] as? String == "self-consistency")
        #expect(object["weight"] as? Double == 0.375)
    }

    @Test("a missing rejected answer is written as null and read back")
    func pairNull() throws {
        var gold = pair
        gold.rejectedAnswer = nil
        gold.source = .gold
        let data = try JSONEncoder().encode(gold)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"rejected_answer\":null") && text.contains("\"source\":\"gold\""))
        #expect(try JSONDecoder().decode(PreferencePair.self, from: data) == gold)
    }

    @Test("an outcome record round-trips with a schema version and every key, nulls included")
    func outcomeRoundTrip() throws {
        for outcome in [vote(pattern("aaaaabbc"), gold: "a"), vote(pattern("aaaa")), vote(pattern("...."))] {
            let data = try JSONEncoder().encode(outcome)
            #expect(
                try keys(data) == [
                    "schema", "problem_id", "round", "mode", "k", "answers", "extra_answers", "unparsable",
                    "extra_samples", "unparsable_extra_samples", "gold", "outcome", "pair", "margin",
                ])
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(object["schema"] as? Int == 1)
            #expect(try JSONDecoder().decode(ProblemVoteOutcome.self, from: data) == outcome)
        }
        let unanimous = String(decoding: try JSONEncoder().encode(vote(pattern("aaaa"))), as: UTF8.self)
        #expect(unanimous.contains("\"pair\":null") && unanimous.contains("\"outcome\":\"unanimous\""))
        #expect(unanimous.contains("\"mode\":\"scpo\"") && unanimous.contains("\"gold\":null"))
        let answers = try JSONEncoder().encode(ProblemVoteOutcome.AnswerVotes(answer: "4", votes: 3, extraSamples: 1))
        #expect(try keys(answers) == ["answer", "votes", "extra_samples"])
    }

    @Test("status names on the wire", arguments: ProblemVoteOutcome.Status.allCases)
    func statusNames(status: ProblemVoteOutcome.Status) throws {
        let expected: [ProblemVoteOutcome.Status: String] = [
            .paired: "pair", .belowThreshold: "below_threshold", .unanimous: "unanimous", .tie: "tie",
            .noParsableAnswer: "no_parsable_answer", .noCorrect: "no_correct", .noIncorrect: "no_incorrect",
        ]
        #expect(String(decoding: try JSONEncoder().encode(status), as: UTF8.self) == "\"\(expected[status]!)\"")
    }

    @Test("settings and statistics keys")
    func otherKeys() throws {
        let settings = PairSelection(tau: 0.7, seed: 9, extrasCountAsVotes: true, mode: .semiSupervised)
        let data = try JSONEncoder().encode(settings)
        #expect(try keys(data) == ["tau", "seed", "extras_count_as_votes", "mode"])
        #expect(try JSONDecoder().decode(PairSelection.self, from: data) == settings)
        let statistics = VoteStatistics([vote(pattern("aaab"))])
        let encoded = try JSONEncoder().encode(statistics)
        #expect(
            try keys(encoded) == [
                "problems", "responses", "unparsable_responses", "pairs", "self_consistency_pairs", "gold_pairs",
                "skipped", "mean_weight", "gold_known_pairs", "chosen_equals_gold", "chosen_equals_gold_fraction",
                "margin_histogram",
            ])
        #expect(try JSONDecoder().decode(VoteStatistics.self, from: encoded) == statistics)
    }

    @Test("pairs as JSONL: one sorted-key object per line, read back, bad lines named")
    func pairsJSONL() throws {
        let data = try PairsJSONL.encode([pair, pair])
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("{\"chosen\":"))
        #expect(try PairsJSONL.decodePairs(data) == [pair, pair])
        let bad = data + Data("\n{\"problem_id\":\"x\"}\n".utf8)
        let error = try #require(throws: VotingError.self) { try PairsJSONL.decodePairs(bad) }
        #expect(error.line == 4 && error.message.contains("missing"))

        // Well-formed JSON with values no SCPO pair can have is refused too, naming the line.
        var heavy = pair
        heavy.weight = 7.5
        let refused = try #require(throws: VotingError.self) {
            try PairsJSONL.decodePairs(data + (try PairsJSONL.encode([heavy])))
        }
        #expect(refused.line == 3 && refused.message.contains("weight 7.5 is outside [0, 1]"))
        var impossible = pair
        impossible.chosenVotes = pair.k + 1
        #expect(throws: VotingError.self) { try PairsJSONL.decodePairs(try PairsJSONL.encode([impossible])) }
    }
}
