import Testing

@testable import QuorumVoting

@Suite("Extra high-temperature samples")
struct ExtraSampleTests {
    @Test("off (default): an answer seen only among extras is rejected with V(y-) = 0")
    func extrasOnlyCandidates() throws {
        let outcome = vote(pattern("aaaaaaaa"), extras: pattern("bbba"))
        let pair = try #require(outcome.pair)
        #expect(outcome.k == 8 && outcome.extraSamples == 4)
        #expect(outcome.answers == [.init(answer: "a", votes: 8, extraSamples: 1)])
        #expect(outcome.extraAnswers == [.init(answer: "b", votes: 0, extraSamples: 3)])
        #expect(pair.chosenAnswer == "a" && pair.chosen.hasPrefix("response"))
        #expect(pair.rejectedAnswer == "b" && pair.rejected.hasPrefix("extra"))
        #expect(pair.rejectedVotes == 0 && pair.weight == 1)
    }

    @Test("off: extras never decide the chosen answer, however many agree")
    func extrasDoNotVote() throws {
        let pair = try #require(vote(pattern("aaaaabbb"), extras: pattern("zzzzzzzz")).pair)
        #expect(pair.chosenAnswer == "a" && pair.rejectedAnswer == "z")
        #expect(pair.chosenVotes == 5 && pair.rejectedVotes == 0 && pair.weight == 5.0 / 8)
    }

    @Test("off: the rejected response comes from the cluster's ordinary samples when it has any")
    func ordinaryMembersFirst() throws {
        for seed in UInt64(0)..<16 {
            let pair = try #require(
                vote(pattern("aaaaaaab"), extras: pattern("bbbb"), settings: PairSelection(seed: seed)).pair)
            #expect(pair.rejected == "response 7")
        }
    }

    @Test("off: unanimous ordinary samples without differing extras stay unanimous")
    func unanimousWithAgreeingExtras() {
        #expect(vote(pattern("aaaa"), extras: pattern("aa..")).status == .unanimous)
    }

    @Test("on: extras are ordinary votes and k grows")
    func extrasVote() throws {
        let settings = PairSelection(extrasCountAsVotes: true)
        let pair = try #require(vote(pattern("aaaaabbb"), extras: pattern("zzzzzzzz"), settings: settings).pair)
        #expect(pair.k == 16)
        #expect(pair.chosenAnswer == "z" && pair.rejectedAnswer == "b")
        #expect(pair.weight == 5.0 / 16)
        let outcome = vote(pattern("aaaaaaaa"), extras: pattern("bbb."), settings: settings)
        #expect(outcome.k == 12 && outcome.unparsable == 1 && outcome.extraSamples == 0)
        #expect(try #require(outcome.pair).rejectedVotes == 3)
    }

    @Test("on: extras count toward tau*k too")
    func thresholdWithExtras() {
        let settings = PairSelection(extrasCountAsVotes: true)
        // 4 of 8 passes alone, but 4 of 16 does not.
        #expect(vote(pattern("aaaabcde"), extras: pattern("fghijklm"), settings: settings).status == .belowThreshold)
        #expect(vote(pattern("aaaabcde"), extras: pattern("fghijklm")).status == .paired)
    }
}
