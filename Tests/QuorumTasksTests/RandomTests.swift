import Testing

@testable import QuorumTasks
import QuorumCore

@Suite("SplitMix64")
struct RandomTests {
    @Test("matches the reference SplitMix64 output for seed 0")
    func reference() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("draws stay in range and cover it", arguments: [0...0, 1...6, -3...3, 10...12])
    func ranges(range: ClosedRange<Int>) {
        var rng = SplitMix64(seed: 42)
        var seen: Set<Int> = []
        for _ in 0..<500 {
            let value = rng.int(in: range)
            #expect(range.contains(value))
            seen.insert(value)
        }
        #expect(seen.count == range.count)
    }
}
