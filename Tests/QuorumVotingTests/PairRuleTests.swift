import Testing

@testable import QuorumVoting

@Suite("SCPO pair rules")
struct PairRuleTests {
    @Test("a clear majority: y+ from the top cluster, y- from the least-voted, w = (V+ - V-)/k")
    func clearMajority() throws {
        let outcome = vote(pattern("aaaaabbc"))
        let pair = try #require(outcome.pair)
        #expect(outcome.status == .paired)
        #expect(pair.chosenAnswer == "a" && pair.rejectedAnswer == "c")
        #expect(["response 0", "response 1", "response 2", "response 3", "response 4"].contains(pair.chosen))
        #expect(pair.rejected == "response 7")
        #expect(pair.chosenVotes == 5 && pair.rejectedVotes == 1 && pair.k == 8)
        #expect(pair.weight == 0.5)
        #expect(pair.source == .selfConsistency && pair.round == 1 && pair.prompt == "Q" && pair.problemID == "p")
        #expect(outcome.margin == 4)
    }

    @Test("tied top clusters: either may be chosen, by seed; the rejected is still least-voted")
    func tiedTop() throws {
        var chosen: Set<String> = []
        var rejected: Set<String> = []
        for seed in UInt64(0)..<64 {
            let outcome = vote(pattern("aaabbbcd"), settings: PairSelection(tau: 0.3, seed: seed))
            let pair = try #require(outcome.pair)
            #expect(pair.chosenVotes == 3 && pair.rejectedVotes == 1 && pair.weight == 0.25)
            chosen.insert(pair.chosenAnswer)
            rejected.insert(try #require(pair.rejectedAnswer))
        }
        #expect(chosen == ["a", "b"])
        #expect(rejected == ["c", "d"])
    }

    @Test(
        "top and bottom tied: w = 0, no trainable pair, counted as a tie",
        arguments: [("aabb", 0.5), ("abcd", 0.25), ("aabbcc", 0.3), ("ab..", 0.25)])
    func tie(votes: String, tau: Double) {
        let outcome = vote(pattern(votes), settings: PairSelection(tau: tau))
        #expect(outcome.status == .tie)
        #expect(outcome.pair == nil)
        #expect(outcome.margin == 0)
    }

    @Test("unanimous: no rejected answer, no pair", arguments: ["aaaaaaaa", "aaaaaaa.", "aaaa...."])
    func unanimous(votes: String) {
        let outcome = vote(pattern(votes))
        #expect(outcome.status == .unanimous)
        #expect(outcome.pair == nil && outcome.margin == nil)
    }

    @Test("a unanimous problem below the threshold counts as below threshold")
    func unanimousBelowThreshold() {
        #expect(vote(pattern("aaa.....")).status == .belowThreshold)
    }

    @Test("no parsable answer: no vote, no pair", arguments: ["........", ".", ""])
    func noParsableAnswer(votes: String) {
        let outcome = vote(pattern(votes))
        #expect(outcome.status == .noParsableAnswer)
        #expect(outcome.unparsable == votes.count && outcome.k == votes.count)
    }

    @Test("some unparsable: they count in k, lower w, and are never the rejected response")
    func someUnparsable() throws {
        for seed in UInt64(0)..<16 {
            let outcome = vote(pattern("a.aa.b.a"), settings: PairSelection(seed: seed))
            let pair = try #require(outcome.pair)
            #expect(pair.rejectedAnswer == "b" && pair.rejected == "response 5")
            #expect(pair.k == 8 && pair.weight == 3.0 / 8.0)
            #expect(outcome.unparsable == 3)
        }
    }

    /// (τ, k, the fewest votes that pass).
    static let thresholds: [(Double, Int, Int)] = [
        (0.5, 8, 4), (0.5, 7, 4), (0.7, 8, 6), (0.6, 8, 5), (0.7, 10, 7), (0.7, 30, 21), (0.6, 5, 3),
        (0.6, 16, 10), (0.5, 16, 8), (1.0, 8, 8), (0.3, 10, 3), (0.1, 30, 3),
    ]

    @Test("tau boundary: exactly tau*k votes pass, one fewer does not", arguments: thresholds)
    func threshold(tau: Double, k: Int, needed: Int) throws {
        let settings = PairSelection(tau: tau)
        #expect(settings.minimumVotes(k: k) == needed)
        // `votes` copies of "a", then one vote each for distinct other answers.
        func pattern(votes: Int) -> [String?] {
            Array(repeating: "a", count: votes) + (0..<(k - votes)).map { "b\($0)" }
        }
        let passing = vote(pattern(votes: needed), settings: settings)
        #expect(passing.status == (needed == k ? .unanimous : .paired))
        if needed < k { #expect(try #require(passing.pair).chosenVotes == needed) }
        if needed > 2 {
            #expect(vote(pattern(votes: needed - 1), settings: settings).status == .belowThreshold)
        }
    }

    @Test("tau = 0 keeps every problem that has an answer")
    func tauZero() {
        let settings = PairSelection(tau: 0)
        #expect(settings.minimumVotes(k: 8) == 0)
        #expect(vote(pattern("a......b"), settings: settings).status == .tie)
        #expect(vote(pattern("aa.....b"), settings: settings).status == .paired)
    }

    /// (vote pattern, expected weight).
    static let weights: [(String, Double)] = [
        ("aaaaaaab", 6.0 / 8), ("aaaaabbc", 4.0 / 8), ("aaaabbbc", 3.0 / 8), ("aaaabb..", 2.0 / 8),
        ("aaaab...", 3.0 / 8), ("aaaaaaaaaaaaaaab", 14.0 / 16), ("aaaaaaaabbbbbbbc", 7.0 / 16), ("aaabbc", 2.0 / 6),
    ]

    @Test("the weight formula w = (V(y+) - V(y-)) / k", arguments: weights)
    func weight(votes: String, expected: Double) throws {
        let pair = try #require(vote(pattern(votes)).pair)
        #expect(pair.weight == expected)
        #expect(pair.weight == Double(pair.chosenVotes - pair.rejectedVotes) / Double(pair.k))
    }

    @Test("unweighted mode: the same pair with w = 1, ties still dropped")
    func unweighted() throws {
        let weighted = try #require(vote(pattern("aaaaabbc"), settings: PairSelection(seed: 3)).pair)
        let plain = try #require(vote(pattern("aaaaabbc"), settings: PairSelection(seed: 3, mode: .unweighted)).pair)
        #expect(plain.weight == 1)
        #expect(plain.chosen == weighted.chosen && plain.rejected == weighted.rejected)
        #expect(vote(pattern("aabb"), settings: PairSelection(mode: .unweighted)).status == .tie)
    }

    @Test("in scpo mode a gold answer is recorded but does not pick the pair")
    func goldIgnoredInVoteMode() throws {
        let outcome = vote(pattern("aaaaabbc"), gold: "b")
        #expect(outcome.gold == "b")
        #expect(try #require(outcome.pair).chosenAnswer == "a")
    }

    @Test("settings validation", arguments: [0.5, 0, 1, -0.1, 1.01, .nan, .infinity])
    func validation(tau: Double) {
        let valid = (0...1).contains(tau)
        let passed = (try? PairSelection(tau: tau).validate()) != nil
        #expect(passed == valid)
    }

    @Test("responses of different problems or prompts are refused")
    func inconsistent() throws {
        let settings = PairSelection()
        #expect(throws: VotingError.self) { try settings.outcome(for: [], round: 1) }
        let mixed = responses(pattern("aa"), problemID: "x") + responses(pattern("b"), problemID: "y")
        #expect(throws: VotingError.self) { try settings.outcome(for: mixed, round: 1) }
        let prompts = responses(pattern("aa"), prompt: "Q1") + responses(pattern("b"), prompt: "Q2")
        #expect(throws: VotingError.self) { try settings.outcome(for: prompts, round: 1) }
        let fine = try settings.outcome(for: responses(pattern("aab"), problemID: "z"), gold: "3", round: 2)
        #expect(fine.problemID == "z" && fine.round == 2 && fine.pair?.round == 2)
    }
}
