import Testing

@testable import QuorumVoting

@Suite("Semi-supervised (gold) pairs")
struct SemiSupervisedTests {
    let semi = PairSelection(mode: .semiSupervised)

    @Test("y+ correct, y- incorrect, w = 1, no tau threshold")
    func goldPair() throws {
        let outcome = vote(pattern("bbbbbbba"), gold: "a", settings: semi)
        let pair = try #require(outcome.pair)
        #expect(pair.source == .gold && pair.weight == 1)
        #expect(pair.chosenAnswer == "a" && pair.chosen == "response 7")
        #expect(pair.rejectedAnswer == "b")
        #expect(pair.chosenVotes == 1 && pair.rejectedVotes == 7)
        #expect(outcome.margin == -6)
    }

    @Test("no correct response: skipped", arguments: ["bbbbbbbb", "bb......", "........"])
    func missingCorrect(votes: String) {
        let outcome = vote(pattern(votes), gold: "a", settings: semi)
        #expect(outcome.status == .noCorrect && outcome.pair == nil)
    }

    @Test("no incorrect response: skipped")
    func missingIncorrect() {
        let outcome = vote(pattern("aaaaaaaa"), gold: "a", settings: semi)
        #expect(outcome.status == .noIncorrect && outcome.pair == nil)
    }

    @Test("a response without an answer is incorrect")
    func unparsableIsIncorrect() throws {
        let pair = try #require(vote(pattern("aaaaaaa."), gold: "a", settings: semi).pair)
        #expect(pair.rejected == "response 7" && pair.rejectedAnswer == nil && pair.rejectedVotes == 0)
    }

    @Test("the gold answer is canonicalised before comparing")
    func canonicalGold() throws {
        let pair = try #require(vote(["42", "41"], gold: " 042.0 ", settings: semi).pair)
        #expect(pair.chosenAnswer == "42")
    }

    @Test("extra samples supply the incorrect response only when the ordinary ones have none")
    func extrasAsRejected() throws {
        let outcome = vote(pattern("aaaa"), extras: pattern("ab"), gold: "a", settings: semi)
        let pair = try #require(outcome.pair)
        #expect(pair.rejected == "extra 1" && pair.chosen.hasPrefix("response"))
        for seed in UInt64(0)..<16 {
            let mixed = vote(
                pattern("aaab"), extras: pattern("c"), gold: "a",
                settings: PairSelection(seed: seed, mode: .semiSupervised))
            #expect(mixed.pair?.rejected == "response 3")
        }
    }

    @Test("problems without gold use the weighted vote in semi mode")
    func unlabeledFallsBack() throws {
        let pair = try #require(vote(pattern("aaaaabbc"), settings: semi).pair)
        #expect(pair.source == .selfConsistency && pair.weight == 0.5)
        #expect(vote(pattern("aaaaaaaa"), settings: semi).status == .unanimous)
    }
}
