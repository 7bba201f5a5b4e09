import Testing

@testable import QuorumTasks
import QuorumCore

@Suite("Solution variants: sums taken from an amount part by part, or multiplied out")
struct SumPlanTests {
    /// `left op right = value` with a template that names the step.
    static func step(_ left: Int, _ operation: Operation, _ right: Int, _ value: Int) -> SolutionStep {
        SolutionStep(
            left: left, operation: operation, right: right, value: value,
            template: "\(operation.rawValue)\(right): \(SolutionStep.slot)")
    }

    /// Two legs of a trip, their sum, and what is left of a 273 km journey.
    static let trip = [
        step(66, .multiply, 2, 132), step(65, .multiply, 2, 130), step(132, .add, 130, 262),
        step(273, .subtract, 262, 11),
    ]

    @Test("a sum taken from an amount: the written plan, or each part in turn in either order")
    func plans() {
        var rng = SplitMix64(seed: 9)
        var seen: [[Int]: Int] = [:]
        for _ in 0..<300 {
            let steps = SolutionStep.partwise(Self.trip, rng: &rng)
            #expect(Array(steps.prefix(2)) == Array(Self.trip.prefix(2)))
            #expect(steps.last?.value == 11)
            seen[steps.map(\.value), default: 0] += 1
        }
        // 273 − 132 = 141, 141 − 130 = 11; or 273 − 130 = 143, 143 − 132 = 11.
        #expect(Set(seen.keys) == [[132, 130, 262, 11], [132, 130, 141, 11], [132, 130, 143, 11]])
        #expect(seen.values.allSatisfy { $0 > 60 }, "\(seen)")

        var always = SplitMix64(seed: 1)
        var partwise: [SolutionStep] = Self.trip
        while partwise == Self.trip { partwise = SolutionStep.partwise(Self.trip, rng: &always) }
        // The sum's line goes; the first subtraction is only its computation (also when a variant
        // writes computations first), the second keeps the subtraction's sentence.
        let first = partwise[2]
        #expect(first.template == SolutionStep.bareTemplate && first.left == 273 && first.operation == .subtract)
        #expect(first.line(.canonical) == "273 - \(first.right) = \(first.value).")
        #expect(first.line(SolutionStep.Choice(expressionFirst: true)) == first.line(.canonical))
        #expect(partwise[3].line(.canonical) == "-262: \(first.value) - \(partwise[3].right) = 11")
    }

    @Test("a sum used again later, or a subtraction of something else, is left as written")
    func untouched() {
        var rng = SplitMix64(seed: 4)
        let reused = Self.trip + [Self.step(11, .add, 262, 273)]
        let other = [Self.step(10, .add, 5, 15), Self.step(40, .subtract, 12, 28)]
        let leftSide = [Self.step(10, .add, 5, 15), Self.step(15, .subtract, 4, 11)]
        for _ in 0..<30 {
            #expect(SolutionStep.partwise(reused, rng: &rng) == reused)
            #expect(SolutionStep.partwise(other, rng: &rng) == other)
            #expect(SolutionStep.partwise(leftSide, rng: &rng) == leftSide)
        }
    }

    @Test("a sum that is then multiplied: as written, or multiplied out, in either operand order")
    func multipliedOut() {
        // A field's sides, its perimeter (written `2 * 10` in the second story), the fence's price.
        let field = [
            Self.step(6, .add, 4, 10), Self.step(10, .multiply, 2, 20), Self.step(20, .multiply, 3, 60),
            Self.step(60, .add, 21, 81),
        ]
        let flipped = [Self.step(6, .add, 4, 10), Self.step(2, .multiply, 10, 20)]
        var rng = SplitMix64(seed: 2)
        var seen: [[Int]: Int] = [:]
        for _ in 0..<200 {
            let steps = SolutionStep.distributed(field, rng: &rng)
            #expect(Array(steps.suffix(2)) == Array(field.suffix(2)))
            seen[steps.map(\.value), default: 0] += 1
            let other = SolutionStep.distributed(flipped, rng: &rng)
            #expect(other == flipped || other.map(\.value) == [12, 8, 20])
        }
        #expect(Set(seen.keys) == [[10, 20, 60, 81], [12, 8, 20, 60, 81]])
        #expect(seen.values.allSatisfy { $0 > 60 }, "\(seen)")
        var always = SplitMix64(seed: 1)
        var out = field
        while out == field { out = SolutionStep.distributed(field, rng: &always) }
        #expect(out[0].line(.canonical) == "6 * 2 = 12." && out[1].line(.canonical) == "4 * 2 = 8.")
        #expect(out[2].line(.canonical) == "*2: 12 + 8 = 20")
        // A sum that is reused, or multiplied by a step that does not use it, stays.
        let reused = field + [Self.step(81, .subtract, 10, 71)]
        let unrelated = [Self.step(6, .add, 4, 10), Self.step(7, .multiply, 3, 21)]
        for _ in 0..<30 {
            #expect(SolutionStep.distributed(reused, rng: &rng) == reused)
            #expect(SolutionStep.distributed(unrelated, rng: &rng) == unrelated)
        }
    }

    @Test("variants with both plans: same problems, true equalities, same answers, both plans used")
    func generated() throws {
        let generator = try ProblemGenerator(
            config: GeneratorConfig(minSteps: 4, maxSteps: 4, maxNumber: 60, operations: "+-*"))
        let plain = try generator.generateVaried(split: .train, count: 300, seed: 5, variants: 8, style: .decomposed)
        let varied = try generator.generateVaried(
            split: .train, count: 300, seed: 5, variants: 8, style: .decomposed,
            plans: [.partwiseSubtraction, .distributedProducts])
        #expect(varied.map(\.problem) == plain.map(\.problem))
        var partwise = 0
        var distributed = 0
        for problem in varied {
            let steps = problem.problem.solution.split(separator: "\n").count - 1
            for solution in problem.solutions {
                var lines = solution.split(separator: "\n")
                #expect(lines.popLast() == "#### \(problem.problem.answer)")
                for line in lines { expectOneTrueChain(in: line, limit: generator.config.resultLimit) }
                // Bare computation lines: a part taken from an amount, or a part multiplied out.
                let bare = lines.compactMap { $0.wholeMatch(of: /\d+ ([-*]) \d+(?: = [-+* \d]+)* = \d+\./)?.1 }
                if bare.contains("-") { partwise += 1 }
                if bare.filter({ $0 == "*" }).count == 2 { distributed += 1 }
                // Taking parts keeps the number of lines; multiplying out adds one.
                #expect(lines.count == steps + bare.filter { $0 == "*" }.count / 2, "\(solution)")
            }
        }
        // Trips and shopping end by taking a sum from an amount, fields multiply a sum (about 1 in 3
        // of four-step problems between them).
        #expect(partwise > 200, "only \(partwise) partwise solutions")
        #expect(distributed > 100, "only \(distributed) multiplied-out solutions")
    }
}
