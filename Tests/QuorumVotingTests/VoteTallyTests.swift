import Testing

@testable import QuorumVoting

@Suite("Vote tally")
struct VoteTallyTests {
    @Test("counts votes per answer with member indices, unparsable responses apart")
    func counts() {
        let tally = VoteTally(responses(pattern("ab.aca.a")))
        #expect(tally.k == 8)
        #expect(tally.clusters.map(\.answer) == ["a", "b", "c"])
        #expect(tally.clusters.map(\.votes) == [4, 1, 1])
        #expect(tally.clusters[0].members == [0, 3, 5, 7])
        #expect(tally.unparsable == [2, 6])
        #expect(tally.votes(for: "a") == 4)
        #expect(tally.votes(for: "z") == 0)
        #expect(tally.maximumVotes == 4)
    }

    @Test("equal votes are ordered by the answers' UTF-8 bytes")
    func canonicalOrder() {
        let tally = VoteTally(responses(["9", "10", "10", "9", "-1"]))
        #expect(tally.clusters.map(\.answer) == ["10", "9", "-1"])
    }

    @Test("extra samples join clusters without voting unless told to")
    func extras() {
        let samples = responses(pattern("aab"), extras: pattern("cc.a"))
        let quiet = VoteTally(samples)
        #expect(quiet.k == 3)
        #expect(quiet.votes(for: "c") == 0)
        #expect(quiet.clusters.first { $0.answer == "c" }?.extraMembers == [3, 4])
        #expect(quiet.clusters.first { $0.answer == "a" }?.extraMembers == [6])
        #expect(quiet.unparsable.isEmpty && quiet.unparsableExtras == [5])
        let loud = VoteTally(samples, extrasCountAsVotes: true)
        #expect(loud.k == 7)
        #expect(loud.votes(for: "a") == 3 && loud.votes(for: "c") == 2)
        #expect(loud.unparsable == [5])
    }

    @Test("no responses: k = 0 and no clusters")
    func empty() {
        let tally = VoteTally([])
        #expect(tally.k == 0 && tally.clusters.isEmpty && tally.maximumVotes == 0)
    }
}
