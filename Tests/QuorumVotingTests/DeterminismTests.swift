import Testing

@testable import QuorumVoting
import QuorumCore

@Suite("Deterministic random choices")
struct DeterminismTests {
    @Test("the same seed, problem and round give the same pair")
    func sameSeed() {
        for seed in UInt64(0)..<32 {
            let settings = PairSelection(seed: seed)
            #expect(vote(pattern("aaaabbcd"), settings: settings) == vote(pattern("aaaabbcd"), settings: settings))
        }
    }

    @Test("different seeds, problem ids or rounds can pick different members")
    func differentSeeds() {
        let bySeed = Set(
            (UInt64(0)..<32).map { vote(pattern("aaaabbcd"), settings: PairSelection(seed: $0)).pair?.chosen })
        #expect(bySeed.count == 4)
        let byRound = Set((0..<32).map { vote(pattern("aaaabbcd"), round: $0).pair?.chosen })
        #expect(byRound.count > 1)
        let byProblem = Set((0..<32).map { vote(pattern("aaaabbcd"), problemID: "p\($0)").pair?.chosen })
        #expect(byProblem.count > 1)
        let rejected = Set(
            (UInt64(0)..<32).map { vote(pattern("aaaabbcd"), settings: PairSelection(seed: $0)).pair?.rejected })
        #expect(rejected == ["response 6", "response 7"])
    }

    /// Values computed independently (a few lines of Python implementing FNV-1a-64 and SplitMix64).
    @Test(
        "the random key is a fixed function of (seed, problem id, round)",
        arguments: [
            (UInt64(0), "", 0, UInt64(0xA6BB_C8DC_BE30_928C)),
            (0, "p1", 1, 0xE45F_9C5C_3FCB_9274),
            (42, "gsm8k-train-00017", 2, 0x10FC_E7A1_6493_F309),
            (UInt64.max, "é", -1, 0x275F_BDC5_9809_CC5C),
        ])
    func randomKey(seed: UInt64, problemID: String, round: Int, expected: UInt64) {
        #expect(PairSelection.randomKey(seed: seed, problemID: problemID, round: round) == expected)
    }
}
