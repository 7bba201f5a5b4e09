import Testing

@testable import QuorumTasks

/// The value of `a op b op c …` with `*` and `/` before `+` and `-` (nil for an inexact division).
func evaluate(_ expression: Substring) -> Int? {
    let tokens = expression.split(separator: " ")
    // Products first: a list of terms with the sign before each.
    var terms: [Int] = []
    var signs: [Int] = [1]
    guard var term = Int(tokens[0]) else { return nil }
    var i = 1
    while i + 1 < tokens.count {
        guard let operand = Int(tokens[i + 1]) else { return nil }
        switch tokens[i] {
        case "*": term *= operand
        case "/":
            guard operand != 0, term % operand == 0 else { return nil }
            term /= operand
        case "+", "-":
            terms.append(term)
            signs.append(tokens[i] == "+" ? 1 : -1)
            term = operand
        default: return nil
        }
        i += 2
    }
    terms.append(term)
    return zip(signs, terms).reduce(0) { $0 + $1.0 * $1.1 }
}

/// Expects `line` to hold exactly one chain `e1 = … = value` whose every part is `value`, with
/// `value` within 2…`limit`.
func expectOneTrueChain(in line: Substring, limit: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    let found = chains(in: line)
    #expect(found.count == 1, "one computation per line: \(line)", sourceLocation: sourceLocation)
    guard let chain = found.first, let value = chain.last.flatMap({ Int($0) }) else { return }
    for part in chain { #expect(evaluate(part) == value, "\(part) in \(line)", sourceLocation: sourceLocation) }
    #expect((2...limit).contains(value), "\(line)", sourceLocation: sourceLocation)
}

/// The chains `e1 = e2 = … = en` in a line, each part an expression of integers.
func chains(in line: Substring) -> [[Substring]] {
    line.matches(of: /\d+(?: [-+*\/] \d+)*(?: = \d+(?: [-+*\/] \d+)*)+/).map { match in
        match.0.split(separator: " = ", omittingEmptySubsequences: false).map { Substring($0) }
    }
}

@Suite("Solution variants")
struct VariantTests {
    static let generator = try! ProblemGenerator()
    static let sample: [VariedProblem] = DataSplit.allCases.flatMap {
        try! generator.generateVaried(split: $0, count: 150, seed: 21, variants: 8)
    }
    static let decomposedSample: [VariedProblem] = DataSplit.allCases.flatMap {
        try! generator.generateVaried(split: $0, count: 150, seed: 21, variants: 8, style: .decomposed)
    }

    @Test("the problems do not depend on the number of variants, and variants are deterministic")
    func sameProblems() throws {
        let plain = try Self.generator.generate(split: .train, count: 80, seed: 9)
        let varied = try Self.generator.generateVaried(split: .train, count: 80, seed: 9, variants: 6)
        #expect(varied.map(\.problem) == plain)
        #expect(try Self.generator.generateVaried(split: .train, count: 80, seed: 9, variants: 6) == varied)
        let single = try Self.generator.generateVaried(split: .train, count: 80, seed: 9, variants: 1)
        #expect(single.allSatisfy { $0.solutions == [$0.problem.solution] })
    }

    @Test(
        "every variant's every equality is true, uses the canonical step's operands, and reaches its value",
        arguments: VariantStyle.allCases)
    func variantsAreValid(style: VariantStyle) {
        for varied in style == .mixed ? Self.sample : Self.decomposedSample {
            let problem = varied.problem
            #expect(varied.solutions.first == problem.solution)
            #expect(Set(varied.solutions).count == varied.solutions.count, "duplicate variants")
            #expect((1...8).contains(varied.solutions.count))
            let canonical = problem.solution.split(separator: "\n").dropLast().map { steps(in: $0)[0] }
            for solution in varied.solutions {
                var lines = solution.split(separator: "\n")
                #expect(lines.popLast() == "#### \(problem.answer)")
                #expect(AnswerExtractor.extract(from: solution) == problem.answer)
                #expect(lines.count == canonical.count, "\(solution)")
                for (line, step) in zip(lines, canonical) {
                    let found = chains(in: line)
                    #expect(found.count == 1, "one computation per line: \(line)")
                    guard let chain = found.first else { continue }
                    // Every part of the chain has the step's value.
                    for part in chain { #expect(evaluate(part) == step.result, "\(part) in \(line)") }
                    #expect(chain.last.map { Int($0) } == step.result)
                    // The first part is the step itself, its operands possibly swapped when that is allowed.
                    let first = chain[0].split(separator: " ")
                    #expect(first.count == 3 && first[1] == Substring(step.operation), "\(line)")
                    let operands = [Int(first[0]), Int(first[2])]
                    if operands != [step.left, step.right] {
                        #expect(["+", "*"].contains(step.operation), "swapped a non-commutative step: \(line)")
                        #expect(operands == [step.right, step.left])
                    }
                }
            }
        }
    }

    @Test("variants use every kind of rewriting, and most problems have several")
    func variety() {
        let all = Self.sample.flatMap { $0.solutions.dropFirst() }
        #expect(all.contains { $0.contains(/\d+ \* \d+ \+ \d+ \* \d+/) }, "no split multiplication")
        #expect(all.contains { $0.contains(/= \d+ [-+] \d+ [-+] \d+ =/) }, "no split addition or subtraction")
        #expect(all.contains { $0.contains(/\d+\. [A-Z]/) }, "no expression-first line")
        #expect(all.contains { $0.contains(/\d+0 \+ \d+0 \+ \d \+ \d =/) }, "no column addition")
        #expect(all.contains { $0.contains(/\d+ - \d+0 \+ \d+ = \d+ \+ \d+ =/) }, "no subtraction through a ten")
        #expect(all.contains { $0.contains(/\d+ \+ \d+0 - \d+ = \d+ - \d+ =/) }, "no addition through a ten")
        #expect(all.contains { $0.contains(/= (\d+) \+ \1 \+ \1 =/) }, "no repeated sum")
        let swapped = Self.sample.contains { varied in
            let canonical = varied.problem.solution.split(separator: "\n").dropLast().map { steps(in: $0)[0] }
            return varied.solutions.dropFirst().contains { solution in
                zip(solution.split(separator: "\n"), canonical).contains { line, step in
                    line.contains("\(step.right) \(step.operation) \(step.left) = ") && step.left != step.right
                }
            }
        }
        #expect(swapped, "no swapped operands")
        let mean = Double(Self.sample.reduce(0) { $0 + $1.solutions.count }) / Double(Self.sample.count)
        #expect(mean >= 4, "mean solutions per problem \(mean)")
    }

    @Test("decomposed style: the problems are the same; training never writes a decomposable step directly")
    func decomposed() throws {
        #expect(Self.decomposedSample.map(\.problem) == Self.sample.map(\.problem))
        #expect(Self.sample.allSatisfy { $0.trainingSolutions == $0.solutions })
        var direct = 0
        var ownLeftOut = 0
        for varied in Self.decomposedSample {
            let training = varied.trainingSolutions
            #expect(!training.isEmpty)
            if !training.contains(varied.problem.solution) { ownLeftOut += 1 }
            for line in training.flatMap({ $0.split(separator: "\n").dropLast() }) {
                guard let chain = chains(in: line).first, chain.count == 2 else { continue }
                direct += 1
                // A direct computation: no operand the style would split, add by columns or
                // through a ten, or sum repeatedly.
                let parts = chain[0].split(separator: " ")
                let (a, op, b) = (Int(parts[0])!, parts[1], Int(parts[2])!)
                let hasTensAndUnits = { (n: Int) in n >= 10 && n % 10 != 0 }
                switch op {
                case "+", "-":
                    // Subtracting through a ten needs a ≥ the next ten above b, plus 2.
                    let throughTen = b % 10 >= 6 && (op == "+" || a >= b - b % 10 + 12)
                    #expect(!hasTensAndUnits(b) && !throughTen, "direct \(line)")
                case "*":
                    #expect(!hasTensAndUnits(a) && !hasTensAndUnits(b), "direct \(line)")
                default:
                    #expect(op == "/", "direct \(line)")
                }
            }
        }
        #expect(direct > 0)
        #expect(ownLeftOut > Self.decomposedSample.count / 2, "own solution left out of \(ownLeftOut) problems")
        let all = Self.decomposedSample.flatMap(\.trainingSolutions)
        #expect(all.contains { $0.contains(/\d+0 \+ \d+0 \+ \d \+ \d =/) }, "no column addition")
        #expect(all.contains { $0.contains(/\d+ \+ \d+0 - [1-4] = \d+ - [1-4] =/) }, "no addition through a ten")
        #expect(all.contains { $0.contains(/\d+ - \d+0 \+ [1-4] = \d+ \+ [1-4] =/) }, "no subtraction through a ten")
        #expect(
            !all.contains { $0.contains(/\d \+ \d+0 - [5-9] =|\d - \d+0 \+ [5-9] =/) }, "through a ten with units 1-5")
        #expect(
            all.contains { $0.contains(/= (\d+) \+ \1 \+ \1 \+ \1 = \d+ \+ \1 \+ \1 = \d+ \+ \1 =/) }, "no sum of 4")
        #expect(all.contains { $0.contains(/\d+ \* \d+ \+ \d+ \* \d+/) }, "no split multiplication")
        // Problems with a decomposable step still get several solutions.
        let mean = Double(all.count) / Double(Self.decomposedSample.count)
        #expect(mean >= 3, "mean training solutions per problem \(mean)")
    }
}
