import Testing

@testable import QuorumTasks
import QuorumCore

@Suite("Solution variants: reordered gains and losses")
struct ReorderTests {
    /// `left op right = value` with a template that names the step.
    static func step(_ left: Int, _ operation: Operation, _ right: Int, _ value: Int, adjusts: Bool) -> SolutionStep {
        SolutionStep(
            left: left, operation: operation, right: right, value: value,
            template: "\(operation.rawValue)\(right): \(SolutionStep.slot)", adjustsTotal: adjusts)
    }

    /// 2 × 4 = 8, then + 15, + 3, − 15 on the running total.
    static let story = [
        step(2, .multiply, 4, 8, adjusts: false), step(8, .add, 15, 23, adjusts: true),
        step(23, .add, 3, 26, adjusts: true), step(26, .subtract, 15, 11, adjusts: true),
    ]

    @Test("a run of gains and losses takes every order whose totals stay at 2 or more, and only those")
    func orders() {
        var rng = SplitMix64(seed: 5)
        var seen: Set<[String]> = []
        for _ in 0..<300 {
            let steps = SolutionStep.reordered(Self.story, limit: 1_000, rng: &rng)
            #expect(steps[0] == Self.story[0])
            #expect(steps.last?.value == 11)
            // Each step starts from the one before.
            for (before, after) in zip(steps, steps.dropFirst()) { #expect(after.left == before.value) }
            seen.insert(steps.dropFirst().map { "\($0.operation.rawValue)\($0.right)" })
        }
        // + 3, − 15 would reach −4, and − 15 first −7.
        #expect(seen == [["+15", "+3", "-15"], ["+15", "-15", "+3"], ["+3", "+15", "-15"]])
    }

    @Test("the limit is kept, and steps that do not adjust the total split runs and never move")
    func boundaries() {
        var rng = SplitMix64(seed: 6)
        for _ in 0..<20 {
            // With a limit of 25 both orders that reach 26 are out: only + 15, − 15, + 3 is left.
            let limited = SolutionStep.reordered(Self.story, limit: 25, rng: &rng)
            #expect(limited.map(\.value) == [8, 23, 8, 11])
        }
        // No order fits a limit of 20: the run stays as the generator wrote it.
        #expect(SolutionStep.reordered(Self.story, limit: 20, rng: &rng) == Self.story)
        let split = [
            Self.step(10, .add, 5, 15, adjusts: true), Self.step(15, .multiply, 2, 30, adjusts: false),
            Self.step(30, .subtract, 4, 26, adjusts: true),
        ]
        #expect(SolutionStep.reordered(split, limit: 1_000, rng: &rng) == split)
        // Not chained (the second does not start from the first's result): left as is.
        let unchained = [Self.step(10, .add, 5, 15, adjusts: true), Self.step(40, .subtract, 4, 36, adjusts: true)]
        #expect(SolutionStep.reordered(unchained, limit: 1_000, rng: &rng) == unchained)
    }

    @Test("reordered variants: same problems, true equalities, same answer and sentences, other orders")
    func generated() throws {
        let generator = try ProblemGenerator(config: GeneratorConfig(minSteps: 4, maxSteps: 4, maxNumber: 20))
        let plain = try generator.generateVaried(
            split: .train, count: 200, seed: 3, variants: 8, style: .decomposed)
        let reordered = try generator.generateVaried(
            split: .train, count: 200, seed: 3, variants: 8, style: .decomposed, plans: .reorderedTotals)
        #expect(reordered.map(\.problem) == plain.map(\.problem))
        /// A line without its numbers and computations, e.g. "After the delivery the shop has  candles."
        func sentence(_ line: Substring) -> String {
            String(line).replacing(/\d+(?: [-+*\/] \d+)*(?: = \d+(?: [-+*\/] \d+)*)*\.? ?/, with: "")
        }
        var moved = 0
        for varied in reordered {
            let canonical = varied.problem.solution.split(separator: "\n").dropLast()
            for solution in varied.solutions {
                var lines = solution.split(separator: "\n")
                #expect(lines.popLast() == "#### \(varied.problem.answer)")
                #expect(lines.count == canonical.count)
                #expect(lines.map(sentence).sorted() == canonical.map(sentence).sorted(), "\(solution)")
                for line in lines { expectOneTrueChain(in: line, limit: generator.config.resultLimit) }
                if lines.map(sentence) != canonical.map(sentence) { moved += 1 }
            }
        }
        #expect(moved > reordered.count / 4, "only \(moved) reordered solutions")
    }
}
