import QuorumExperiments
import QuorumPipeline
import Testing

/// The table's statistics against values computed by hand.
@Suite struct TableArithmeticTests {
    // Seed 1: A right on 2 of 4, B on 1 of 4. Seed 2: A on 3 of 4, B on 2 of 4.
    let a1 = [true, true, false, false]
    let b1 = [true, false, false, false]
    let a2 = [true, true, true, false]
    let b2 = [true, true, false, false]

    @Test func accuracyOverSeedsUsesTheSpreadOfTheSeeds() throws {
        let estimate = try #require(TableArithmetic.accuracy([a1, a2]))
        // mean(0.5, 0.75) = 0.625; sd = √(2·0.125² / 1) = 0.17678; / √2 = 0.125.
        #expect(abs(estimate.mean - 0.625) < 1e-12)
        #expect(abs(try #require(estimate.standardError) - 0.125) < 1e-12)
        #expect(estimate.seeds == 2)
        #expect(estimate.basis == "seeds")
    }

    @Test func oneSeedFallsBackToTheTestSetsBinomialError() throws {
        let estimate = try #require(TableArithmetic.accuracy([a1]))
        // p = 0.5 on 4 problems: √(0.25 / 4) = 0.25.
        #expect(abs(estimate.mean - 0.5) < 1e-12)
        #expect(abs(try #require(estimate.standardError) - 0.25) < 1e-12)
        #expect(estimate.basis == "problems")
    }

    @Test func pairedDifferencesOverSeeds() throws {
        let estimate = try #require(TableArithmetic.difference([(a1, b1), (a2, b2)]))
        // Both seeds differ by 0.25: mean 0.25, no spread.
        #expect(abs(estimate.mean - 0.25) < 1e-12)
        #expect(abs(try #require(estimate.standardError)) < 1e-12)
    }

    @Test func pairedDifferenceOfOneSeedUsesThePerProblemDifferences() throws {
        let estimate = try #require(TableArithmetic.difference([(a1, b1)]))
        // x = (0, 1, 0, 0): mean 0.25, sd = √((3·0.0625 + 0.5625) / 3) = 0.5, / √4 = 0.25.
        #expect(abs(estimate.mean - 0.25) < 1e-12)
        #expect(abs(try #require(estimate.standardError) - 0.25) < 1e-12)
    }

    @Test func theTableCollectsRowsAndTheComparisonsOfThePaper() throws {
        func evaluation(_ seed: Int, _ mode: String, _ round: Int, _ greedy: [Bool]) -> StoredEvaluation {
            StoredEvaluation(
                key: ModelKey(seed: seed, mode: mode, round: round), format: "w8a8", k: 0, greedy: greedy,
                majority: [], seconds: 1)
        }
        let evaluations = [
            evaluation(1, "seed", 0, b1), evaluation(2, "seed", 0, b2),
            evaluation(1, "scpo", 1, a1), evaluation(2, "scpo", 1, a2),
            evaluation(1, "irpo-gold", 1, a1), evaluation(2, "irpo-gold", 1, b2),
        ]
        let table = ExperimentTable(
            experiment: "t", modes: ["scpo", "irpo-gold"], evaluations: evaluations, models: [])
        #expect(table.rows.map { "\($0.mode)/\($0.round)" } == ["seed/0", "scpo/1", "irpo-gold/1"])
        #expect(table.seeds == [1, 2])
        let gain = try #require(table.differences.first { $0.label == "scpo M1 − M0" })
        #expect(abs(gain.greedy.mean - 0.25) < 1e-12)
        let versusGold = try #require(table.differences.first { $0.label == "scpo − irpo-gold at M1" })
        // Seed 1: 0.5 − 0.5 = 0; seed 2: 0.75 − 0.5 = 0.25 → mean 0.125, sd 0.17678 / √2 = 0.125.
        #expect(abs(versusGold.greedy.mean - 0.125) < 1e-12)
        #expect(abs(try #require(versusGold.greedy.standardError) - 0.125) < 1e-12)
        #expect(table.markdown.contains("| scpo M1 | 2 | 62.5 ± 12.5 |  |  |  |"))
        #expect(table.svg.hasPrefix("<svg") && table.svg.contains("irpo-gold"))
    }
}
