import Testing

@testable import QuorumVoting

@Suite("Batch statistics")
struct StatisticsTests {
    @Test("counts problems, pairs, skips by reason, mean weight, gold agreement and margins")
    func aggregate() throws {
        let semi = PairSelection(mode: .semiSupervised)
        let outcomes = [
            vote(pattern("aaaaabbc"), gold: "a"),  // pair, w 4/8, margin 4, chosen = gold
            vote(pattern("aaaaaabb"), gold: "b"),  // pair, w 4/8, margin 4, chosen ≠ gold
            vote(pattern("aaaabbb.")),  // pair, w 1/8, margin 1, gold unknown
            vote(pattern("aabb")),  // tie, margin 0
            vote(pattern("aaaa")),  // unanimous
            vote(pattern("ab......")),  // below threshold
            vote(pattern("....")),  // no parsable answer
            vote(pattern("bbbb"), gold: "a", settings: semi),  // no correct
            vote(pattern("aaaa"), gold: "a", settings: semi),  // no incorrect
            vote(pattern("abbb"), gold: "a", settings: semi),  // gold pair, w 1, margin -2
        ]
        let statistics = VoteStatistics(outcomes)
        #expect(statistics.problems == 10)
        #expect(statistics.responses == 8 + 8 + 8 + 4 + 4 + 8 + 4 + 4 + 4 + 4)
        #expect(statistics.unparsableResponses == 1 + 6 + 4)
        #expect(statistics.pairs == 4 && statistics.selfConsistencyPairs == 3 && statistics.goldPairs == 1)
        var skipped = VoteStatistics.SkipCounts()
        skipped.tie = 1
        skipped.unanimous = 1
        skipped.belowThreshold = 1
        skipped.noParsableAnswer = 1
        skipped.noCorrect = 1
        skipped.noIncorrect = 1
        #expect(statistics.skipped == skipped)
        #expect(statistics.skipped.total + statistics.pairs == statistics.problems)
        #expect(statistics.meanWeight == (0.5 + 0.5 + 0.125 + 1) / 4)
        #expect(statistics.goldKnownPairs == 2 && statistics.chosenEqualsGold == 1)
        #expect(statistics.chosenEqualsGoldFraction == 0.5)
        #expect(
            statistics.marginHistogram == [
                .init(margin: -2, problems: 1), .init(margin: 0, problems: 1), .init(margin: 1, problems: 1),
                .init(margin: 4, problems: 2),
            ])
    }

    @Test("an empty batch has no mean weight and no gold fraction")
    func empty() {
        let statistics = VoteStatistics([])
        #expect(statistics.problems == 0 && statistics.meanWeight == nil && statistics.chosenEqualsGoldFraction == nil)
        #expect(statistics.marginHistogram.isEmpty)
    }
}
