/// One arithmetic step of a solution, kept so that the solution can also be written in other valid
/// ways: operands of `+` and `*` in the other order, a two-digit operand split into tens and units
/// (`14 * 6 = 10 * 6 + 4 * 6 = 60 + 24 = 84`), another decomposition (`37 + 48 = 30 + 40 + 7 + 8 =
/// 70 + 15 = 85`, `45 - 7 = 45 - 10 + 3 = 35 + 3 = 38`, `13 * 3 = 13 + 13 + 13 = 26 + 13 = 39`), or
/// the computation written before the sentence (`14 * 6 = 84. Each day it makes 84 toys.`). Every
/// variant's expressions are true equalities, and every variant ends in the same value, so the
/// problem's answer never changes. The decompositions compute the same value through different
/// intermediate facts, so a small model's arithmetic mistakes differ from one way to another.
struct SolutionStep: Sendable, Hashable {
    /// Marks where the expression goes in ``template``.
    static let slot = "\u{1}"

    /// The left operand as the generator wrote it.
    let left: Int
    /// The operation.
    let operation: Operation
    /// The right operand as the generator wrote it.
    let right: Int
    /// The step's result.
    let value: Int
    /// The solution line with ``slot`` where the expression `a op b = c` goes.
    let template: String

    /// How one step is written.
    struct Choice: Sendable, Hashable {
        /// Operands in the other order (only for `+` and `*`).
        var swapped = false
        /// A two-digit operand split into tens and units (when there is one to split).
        var split = false
        /// The other decomposition instead (when the step has one; see ``expression(_:)``):
        /// tens and units added column by column, a subtraction or addition through the next ten,
        /// or a product by 2–4 as a repeated sum.
        var alternative = false
        /// The computation first, then the sentence with the result in it.
        var expressionFirst = false

        /// The generator's own way of writing the step.
        static let canonical = Choice()
    }

    /// `n` as tens and units, when `n` has both (n ≥ 10 and not a multiple of 10).
    private static func tensAndUnits(_ n: Int) -> (tens: Int, units: Int)? {
        n >= 10 && n % 10 != 0 ? (n - n % 10, n % 10) : nil
    }

    /// The expression `a op b = … = value` for `choice`.
    func expression(_ choice: Choice) -> String {
        let commutative = operation == .add || operation == .multiply
        let (a, b) = choice.swapped && commutative ? (right, left) : (left, right)
        let op = operation.rawValue
        var text = "\(a) \(op) \(b)"
        if choice.alternative, let steps = alternativeSteps(a, b) {
            return ([text] + steps + ["\(value)"]).joined(separator: " = ")
        }
        if choice.split {
            switch operation {
            case .multiply:
                if let (t, u) = Self.tensAndUnits(a) {
                    text += " = \(t) * \(b) + \(u) * \(b) = \(t * b) + \(u * b)"
                } else if let (t, u) = Self.tensAndUnits(b) {
                    text += " = \(a) * \(t) + \(a) * \(u) = \(a * t) + \(a * u)"
                }
            case .add:
                if let (t, u) = Self.tensAndUnits(b) { text += " = \(a) + \(t) + \(u) = \(a + t) + \(u)" }
            case .subtract:
                if let (t, u) = Self.tensAndUnits(b) { text += " = \(a) - \(t) - \(u) = \(a - t) - \(u)" }
            case .divide:
                break
            }
        }
        return text + " = \(value)"
    }

    /// The middle parts of the alternative decomposition of `a op b` (operands in written order),
    /// or nil when the step has none: `a + b` with both two-digit as tens plus units
    /// (`30 + 40 + 7 + 8`, `70 + 15`); `a + b` or `a - b` with `b` not a multiple of ten, through the
    /// next ten above `b` (`45 - 10 + 3`, `35 + 3`; `47 + 10 - 2`, `57 - 2`); `a * b` with one operand
    /// in 2…4 and the other at least 10 as a repeated sum (`13 + 13 + 13`, `26 + 13`).
    func alternativeSteps(_ a: Int, _ b: Int) -> [String]? {
        switch operation {
        case .add:
            if let (ta, ua) = Self.tensAndUnits(a), let (tb, ub) = Self.tensAndUnits(b) {
                return ["\(ta) + \(tb) + \(ua) + \(ub)", "\(ta + tb) + \(ua + ub)"]
            }
            guard b % 10 != 0 else { return nil }
            let up = b - b % 10 + 10
            return ["\(a) + \(up) - \(up - b)", "\(a + up) - \(up - b)"]
        case .subtract:
            let up = b - b % 10 + 10
            guard b % 10 != 0, a >= up + 2 else { return nil }
            return ["\(a) - \(up) + \(up - b)", "\(a - up) + \(up - b)"]
        case .multiply:
            let (big, small) = a >= b ? (a, b) : (b, a)
            guard (2...4).contains(small), big >= 10 else { return nil }
            let sum = Array(repeating: "\(big)", count: small).joined(separator: " + ")
            return small == 2 ? [sum] : [sum, "\(big * (small - 1)) + \(big)"]
        case .divide:
            return nil
        }
    }

    /// The solution line for `choice`; ``Choice/canonical`` gives the generator's own line.
    func line(_ choice: Choice) -> String {
        let expression = expression(choice)
        if choice.expressionFirst {
            return expression + ". " + capitalizingFirst(template.replacing(Self.slot, with: "\(value)"))
        }
        return capitalizingFirst(template.replacing(Self.slot, with: expression))
    }

    /// A random way of writing the step: operands swapped and expression first each with
    /// probability ½; no decomposition, the tens-and-units split or the alternative one with
    /// probability ⅓ each.
    static func randomChoice(_ rng: inout SplitMix64) -> Choice {
        let swapped = rng.chance(1, in: 2)
        let decomposition = rng.int(in: 0...2)
        return Choice(
            swapped: swapped, split: decomposition == 1, alternative: decomposition == 2,
            expressionFirst: rng.chance(1, in: 2))
    }

    /// Up to `count` distinct solutions of the steps `steps` ending in `#### answer`: first the
    /// generator's own, then random ways of writing each step, drawn from `rng` (fewer when the steps
    /// allow fewer distinct texts).
    static func solutions(of steps: [SolutionStep], answer: Int, count: Int, rng: inout SplitMix64) -> [String] {
        func text(_ choices: [Choice]) -> String {
            (zip(steps, choices).map { $0.line($1) } + ["#### \(answer)"]).joined(separator: "\n")
        }
        var solutions = [text(steps.map { _ in .canonical })]
        var seen = Set(solutions)
        var attempts = 0
        while solutions.count < count && attempts < count * 8 {
            attempts += 1
            let candidate = text(steps.map { _ in randomChoice(&rng) })
            if seen.insert(candidate).inserted { solutions.append(candidate) }
        }
        return solutions
    }
}

/// A problem with several valid written solutions: ``solutions`` starts with the problem's own
/// ``Problem/solution`` and goes on with the same steps written differently (see ``SolutionStep``).
/// Training on a random one each time the problem is seen teaches several reasoning paths per
/// problem, whose mistakes are less correlated than one memorised path's.
public struct VariedProblem: Sendable, Hashable {
    /// The problem (its ``Problem/solution`` is the first of ``solutions``).
    public var problem: Problem
    /// Distinct valid solutions, the generator's own first.
    public var solutions: [String]

    /// A varied problem from its parts.
    public init(problem: Problem, solutions: [String]) {
        self.problem = problem
        self.solutions = solutions
    }
}
