import Testing

@testable import QuorumTasks

/// One arithmetic step parsed from a solution line.
struct ParsedStep {
    let left: Int
    let operation: String
    let right: Int
    let result: Int

    /// The step's value recomputed, or nil for a division with a remainder.
    var recomputed: Int? {
        switch operation {
        case "+": left + right
        case "-": left - right
        case "*": left * right
        default: right != 0 && left % right == 0 ? left / right : nil
        }
    }
}

/// The `a op b = c` expressions in a line.
func steps(in line: Substring) -> [ParsedStep] {
    line.matches(of: /(\d+) ([-+*\/]) (\d+) = (\d+)/).map { match in
        ParsedStep(left: Int(match.1)!, operation: String(match.2), right: Int(match.3)!, result: Int(match.4)!)
    }
}

/// Every integer written in a text.
func numbers(in text: String) -> [Int] { text.matches(of: /\d+/).map { Int($0.0)! } }

@Suite("Problem generator")
struct GeneratorTests {
    /// A mixed sample of every split and step count.
    static let sample: [Problem] = {
        // Default knobs are valid; generation cannot run short at these counts.
        let generator = try! ProblemGenerator()
        return DataSplit.allCases.flatMap { try! generator.generate(split: $0, count: 200, seed: 11) }
    }()

    @Test("the same seed gives the same problems; another seed gives others")
    func determinism() throws {
        let generator = try ProblemGenerator()
        let first = try generator.generate(split: .train, count: 50, seed: 5)
        #expect(try generator.generate(split: .train, count: 50, seed: 5) == first)
        let other = try generator.generate(split: .train, count: 50, seed: 6)
        #expect(Set(other.map(\.question)).isDisjoint(with: first.map(\.question)))
    }

    @Test("splits never share a problem, and each problem hashes into its own split")
    func disjointSplits() {
        var questions: [DataSplit: Set<String>] = [:]
        for problem in Self.sample {
            let split = DataSplit.of(question: problem.question)
            #expect(problem.id.hasPrefix(split.rawValue + "-"))
            questions[split, default: []].insert(DataSplit.normalize(problem.question))
        }
        #expect(questions.values.map(\.count) == [200, 200, 200])
        #expect(questions[.train]!.isDisjoint(with: questions[.dev]!))
        #expect(questions[.train]!.isDisjoint(with: questions[.test]!))
        #expect(questions[.dev]!.isDisjoint(with: questions[.test]!))
        #expect(Set(Self.sample.map(\.id)).count == Self.sample.count)
    }

    @Test("every step's arithmetic is right and uses given or earlier numbers; the answer is the last line")
    func solutionsCheck() throws {
        for problem in Self.sample {
            var lines = problem.solution.split(separator: "\n")
            let last = lines.popLast()
            #expect(last == "#### \(problem.answer)")
            #expect((1...4).contains(lines.count))
            var known = Set(numbers(in: problem.question)).union(2...7)
            var final: Int?
            for line in lines {
                let parsed = steps(in: line)
                #expect(parsed.count == 1, "one expression per line: \(line)")
                guard let step = parsed.first else { continue }
                #expect(step.recomputed == step.result, "\(line)")
                #expect(step.result >= 2 && step.result <= GeneratorConfig().resultLimit)
                #expect(known.contains(step.left) && known.contains(step.right), "unexplained operand in \(line)")
                known.insert(step.result)
                final = step.result
            }
            #expect(final.map(String.init) == problem.answer)
            #expect(AnswerExtractor.extract(from: problem.solution) == problem.answer)
            #expect(problem.question.hasSuffix("?"))
        }
    }

    @Test("the steps knob fixes the number of solution lines", arguments: 1...4)
    func stepsKnob(steps: Int) throws {
        let generator = try ProblemGenerator(config: GeneratorConfig(minSteps: steps, maxSteps: steps))
        for problem in try generator.generate(split: .dev, count: 60, seed: UInt64(steps)) {
            #expect(problem.solution.split(separator: "\n").count == steps + 1)
        }
    }

    @Test("the number knob bounds every number", arguments: [10, 20, 200])
    func numberKnob(maxNumber: Int) throws {
        let config = GeneratorConfig(maxNumber: maxNumber)
        for problem in try ProblemGenerator(config: config).generate(split: .train, count: 150, seed: 3) {
            let all = numbers(in: problem.question) + numbers(in: problem.solution)
            #expect(all.allSatisfy { $0 <= config.resultLimit }, "\(problem.question)")
        }
    }

    @Test("the result knob bounds every number without changing the steps", arguments: [99, 150])
    func resultKnob(maxResult: Int) throws {
        let config = GeneratorConfig(minSteps: 4, maxSteps: 4, maxNumber: 20, maxResult: maxResult)
        #expect(config.resultLimit == maxResult)
        let problems = try ProblemGenerator(config: config).generate(split: .train, count: 300, seed: 5)
        var largest = 0
        for problem in problems {
            let all = numbers(in: problem.question) + numbers(in: problem.solution)
            largest = max(largest, all.max() ?? 0)
            #expect(problem.solution.split(separator: "\n").count == 5)
        }
        #expect(largest <= maxResult)
        // The limit is reached, not merely respected: it really is the knob that bounds the numbers.
        #expect(largest > maxResult * 9 / 10)
        let unbounded = try ProblemGenerator(config: GeneratorConfig(minSteps: 4, maxSteps: 4, maxNumber: 20))
            .generate(split: .train, count: 300, seed: 5)
        #expect(unbounded.contains { Int($0.answer)! > maxResult })
    }

    @Test("the operations knob leaves out the other operations and keeps the same stream")
    func operationsKnob() throws {
        let all = GeneratorConfig(minSteps: 4, maxSteps: 4, maxNumber: 20)
        var noDivision = all
        noDivision.operations = "+-*"
        #expect(noDivision.allowedOperations == ["+", "-", "*"] && all.allowedOperations.count == 4)
        let kept = try ProblemGenerator(config: noDivision).generate(split: .train, count: 200, seed: 5)
        #expect(kept.allSatisfy { !$0.solution.contains(" / ") })
        #expect(kept.contains { $0.solution.contains(" * ") } && kept.contains { $0.solution.contains(" - ") })
        // The knob only skips candidates: every kept problem is one the unrestricted stream gives too,
        // and that stream does divide.
        let unrestricted = try ProblemGenerator(config: all).generate(split: .train, count: 800, seed: 5)
        #expect(unrestricted.contains { $0.solution.contains(" / ") })
        let ids = Set(unrestricted.map(\.id))
        #expect(kept.prefix(100).allSatisfy { ids.contains($0.id) })
        // A single operation cannot fill four steps of these templates: a clear error, not a hang.
        let onlyAddition = GeneratorConfig(minSteps: 4, maxSteps: 4, maxNumber: 20, operations: "+")
        #expect(throws: TaskError.self) {
            try ProblemGenerator(config: onlyAddition).generate(split: .train, count: 50, seed: 5)
        }
    }

    @Test("problems are varied: many templates, openings and answers")
    func variety() {
        #expect(ProblemGenerator.templateNames.count >= 20)
        let openings = Set(
            Self.sample.map { $0.question.split(separator: " ").dropFirst().prefix(3).joined(separator: " ") })
        #expect(openings.count > 100)
        #expect(Set(Self.sample.map(\.answer)).count > 150)
        #expect(Set(Self.sample.map { $0.question.split(separator: " ").first! }).count > 30)
    }

    @Test(
        "impossible knobs are refused with a message",
        arguments: [
            GeneratorConfig(minSteps: 0), GeneratorConfig(minSteps: 3, maxSteps: 2), GeneratorConfig(maxSteps: 5),
            GeneratorConfig(maxNumber: 5), GeneratorConfig(maxNumber: 20, maxResult: 19),
            GeneratorConfig(operations: ""), GeneratorConfig(operations: "+x"), GeneratorConfig(operations: "++-"),
        ])
    func invalidKnobs(config: GeneratorConfig) {
        #expect(throws: TaskError.self) { try ProblemGenerator(config: config) }
    }
}
