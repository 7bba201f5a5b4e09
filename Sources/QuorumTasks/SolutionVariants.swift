import QuorumCore
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
    /// The template of a line that is only its computation (`200 - 16 = 184.`).
    static let bareTemplate = slot + "."

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
    /// Whether the step adds a stated amount to the result of the step before it, or takes one
    /// from it (a running total's gain or loss). Neighbouring such steps can be done in any order
    /// that keeps every result in range: the intermediate totals, and so the facts used, change, the
    /// answer does not (see ``reordered(_:limit:rng:)``).
    var adjustsTotal = false

    /// How one step is written.
    struct Choice: Sendable, Hashable {
        /// Operands in the other order (only for `+` and `*`).
        var swapped = false
        /// How the computation is written out (falls back to ``Form/direct`` when the step has
        /// no such form).
        var form = Form.direct
        /// The computation first, then the sentence with the result in it.
        var expressionFirst = false

        /// The generator's own way of writing the step.
        static let canonical = Choice()
    }

    /// The ways of writing one computation `a op b = value`.
    enum Form: Sendable, Hashable, CaseIterable {
        /// `a op b = value`.
        case direct
        /// A two-digit operand split into tens and units (`14 * 6 = 10 * 6 + 4 * 6 = 60 + 24`,
        /// `37 + 48 = 37 + 40 + 8 = 77 + 8`, `60 - 19 = 60 - 10 - 9 = 50 - 9`).
        case split
        /// ``VariantStyle/mixed``'s second decomposition (see ``alternativeSteps(_:_:)``).
        case alternative
        /// Tens and units added column by column (`37 + 48 = 30 + 40 + 7 + 8 = 70 + 15`).
        case column
        /// Adding or subtracting a units digit of 6–9 through the next ten
        /// (`47 + 8 = 47 + 10 - 2 = 57 - 2`, `45 - 17 = 45 - 20 + 3 = 25 + 3`).
        case throughTen
        /// A product of a two-digit number (not a multiple of ten) by 2–4 as a repeated sum, added
        /// up one term at a time (`16 * 4 = 16 + 16 + 16 + 16 = 32 + 16 + 16 = 48 + 16`).
        case repeatedSum

        /// The forms ``VariantStyle/decomposed`` chooses from.
        static let decompositions: [Form] = [.split, .column, .throughTen, .repeatedSum]
    }

    /// `n` as tens and units, when `n` has both (n ≥ 10 and not a multiple of 10).
    private static func tensAndUnits(_ n: Int) -> (tens: Int, units: Int)? {
        n >= 10 && n % 10 != 0 ? (n - n % 10, n % 10) : nil
    }

    /// The operands in written order for `choice` (swapped only for `+` and `*`).
    func operands(_ choice: Choice) -> (Int, Int) {
        let commutative = operation == .add || operation == .multiply
        return choice.swapped && commutative ? (right, left) : (left, right)
    }

    /// The expression `a op b = … = value` for `choice`.
    func expression(_ choice: Choice) -> String {
        let (a, b) = operands(choice)
        let middle = middleSteps(choice.form, a, b) ?? []
        return (["\(a) \(operation.rawValue) \(b)"] + middle + ["\(value)"]).joined(separator: " = ")
    }

    /// The parts between `a op b` and the value for `form` (operands in written order), or nil
    /// when the step cannot be written that way.
    func middleSteps(_ form: Form, _ a: Int, _ b: Int) -> [String]? {
        switch form {
        case .direct: return []
        case .alternative: return alternativeSteps(a, b)
        case .split:
            switch operation {
            case .multiply:
                if let (t, u) = Self.tensAndUnits(a) { return ["\(t) * \(b) + \(u) * \(b)", "\(t * b) + \(u * b)"] }
                if let (t, u) = Self.tensAndUnits(b) { return ["\(a) * \(t) + \(a) * \(u)", "\(a * t) + \(a * u)"] }
                return nil
            case .add:
                guard let (t, u) = Self.tensAndUnits(b) else { return nil }
                return ["\(a) + \(t) + \(u)", "\(a + t) + \(u)"]
            case .subtract:
                guard let (t, u) = Self.tensAndUnits(b) else { return nil }
                return ["\(a) - \(t) - \(u)", "\(a - t) - \(u)"]
            case .divide:
                return nil
            }
        case .column:
            guard operation == .add, let (ta, ua) = Self.tensAndUnits(a), let (tb, ub) = Self.tensAndUnits(b) else {
                return nil
            }
            return ["\(ta) + \(tb) + \(ua) + \(ub)", "\(ta + tb) + \(ua + ub)"]
        case .throughTen:
            let up = b - b % 10 + 10
            switch operation {
            case .add where b % 10 >= 6:
                return ["\(a) + \(up) - \(up - b)", "\(a + up) - \(up - b)"]
            case .subtract where b % 10 >= 6 && a >= up + 2:
                return ["\(a) - \(up) + \(up - b)", "\(a - up) + \(up - b)"]
            default:
                return nil
            }
        case .repeatedSum:
            let (big, small) = a >= b ? (a, b) : (b, a)
            guard operation == .multiply, (2...4).contains(small), Self.tensAndUnits(big) != nil else { return nil }
            // big + big + … , then 2·big + big + …, …, (small − 1)·big + big.
            return (1..<small).map { done in
                (["\(big * done)"] + Array(repeating: "\(big)", count: small - done)).joined(separator: " + ")
            }
        }
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
        if choice.expressionFirst && template != Self.bareTemplate {
            return expression + ". " + capitalizingFirst(template.replacing(Self.slot, with: "\(value)"))
        }
        return capitalizingFirst(template.replacing(Self.slot, with: expression))
    }

    /// A random way of writing the step. Both styles: operands swapped and expression first each
    /// with probability ½. ``VariantStyle/mixed``: no decomposition, the tens-and-units split or the
    /// alternative one with probability ⅓ each. ``VariantStyle/decomposed``: one of the
    /// decompositions the step has (``Form/decompositions``), uniformly; the direct form only when
    /// it has none.
    func randomChoice(_ style: VariantStyle, _ rng: inout SplitMix64) -> Choice {
        let swapped = rng.chance(1, in: 2)
        var choice = Choice(swapped: swapped)
        switch style {
        case .mixed:
            choice.form = [Form.direct, .split, .alternative][rng.int(in: 0...2)]
        case .decomposed:
            let (a, b) = operands(choice)
            let available = Form.decompositions.filter { middleSteps($0, a, b) != nil }
            if !available.isEmpty { choice.form = rng.pick(available) }
        }
        choice.expressionFirst = rng.chance(1, in: 2)
        return choice
    }

    /// Whether ``VariantStyle/decomposed`` writes this step only in its direct form (it has no
    /// decomposition in either operand order).
    var directOnly: Bool {
        [false, true].allSatisfy { swapped in
            let (a, b) = operands(Choice(swapped: swapped))
            return Form.decompositions.allSatisfy { middleSteps($0, a, b) == nil }
        }
    }

    /// Up to `count` distinct solutions of the steps `steps` ending in `#### answer`: first the
    /// generator's own, then random ways of writing each step in `style`, drawn from `rng` (fewer
    /// when the steps allow fewer distinct texts). Each variant first follows a random plan of those
    /// `plans` allows: sums taken from an amount part by part (``partwise(_:rng:)``), sums multiplied
    /// out (``distributed(_:rng:)``), then the running total's gains and losses in a random valid
    /// order (``reordered(_:limit:rng:)``, results within 2…`limit`).
    static func solutions(
        of steps: [SolutionStep], answer: Int, count: Int, style: VariantStyle = .mixed, plans: PlanVariations = [],
        limit: Int = .max, rng: inout SplitMix64
    ) -> [String] {
        func text(_ steps: [SolutionStep], _ choices: [Choice]) -> String {
            (zip(steps, choices).map { $0.line($1) } + ["#### \(answer)"]).joined(separator: "\n")
        }
        var solutions = [text(steps, steps.map { _ in .canonical })]
        var seen = Set(solutions)
        var attempts = 0
        while solutions.count < count && attempts < count * 8 {
            attempts += 1
            var planned = plans.contains(.partwiseSubtraction) ? partwise(steps, rng: &rng) : steps
            if plans.contains(.distributedProducts) { planned = distributed(planned, rng: &rng) }
            if plans.contains(.reorderedTotals) { planned = reordered(planned, limit: limit, rng: &rng) }
            let candidate = text(planned, planned.map { $0.randomChoice(style, &rng) })
            if seen.insert(candidate).inserted { solutions.append(candidate) }
        }
        return solutions
    }

    /// `steps` with each sum that the next step takes from an amount (`a + b = s`, then `t - s = r`)
    /// taken part by part instead, in either order (`t - a = u`, then `u - b = r`), each of the three
    /// plans with probability ⅓. The sum's line goes; the first subtraction is a bare computation
    /// (`200 - 16 = 184.`), the second keeps the subtraction's sentence. Every result stays within
    /// 2…`t` (`u = r + b`), and the steps after it and the answer do not change.
    static func partwise(_ steps: [SolutionStep], rng: inout SplitMix64) -> [SolutionStep] {
        rewritingSums(steps) { sum, take in
            guard take.operation == .subtract, take.right == sum.value else { return nil }
            let orders: [(Int, Int)?] = [nil, (sum.left, sum.right), (sum.right, sum.left)]
            guard let (first, second) = orders[rng.int(in: 0...2)] else { return nil }
            let rest = take.left - first
            return [
                SolutionStep(left: take.left, operation: .subtract, right: first, value: rest, template: bareTemplate),
                SolutionStep(
                    left: rest, operation: .subtract, right: second, value: take.value, template: take.template),
            ]
        }
    }

    /// `steps` with each sum that the next step multiplies (`a + b = s`, then `s * c = p`) multiplied
    /// out instead with probability ½: `a * c = x.` and `b * c = y.` as bare computations, then
    /// `x + y = p` with the product's sentence. The products are at most `p`, so within the limit;
    /// the steps after it and the answer do not change.
    static func distributed(_ steps: [SolutionStep], rng: inout SplitMix64) -> [SolutionStep] {
        rewritingSums(steps) { sum, product in
            guard product.operation == .multiply, product.left == sum.value || product.right == sum.value,
                rng.chance(1, in: 2)
            else { return nil }
            let factor = product.left == sum.value ? product.right : product.left
            let (x, y) = (sum.left * factor, sum.right * factor)
            guard x >= 2, y >= 2 else { return nil }
            return [
                SolutionStep(left: sum.left, operation: .multiply, right: factor, value: x, template: bareTemplate),
                SolutionStep(left: sum.right, operation: .multiply, right: factor, value: y, template: bareTemplate),
                SolutionStep(left: x, operation: .add, right: y, value: product.value, template: product.template),
            ]
        }
    }

    /// `steps` with each sum whose value only the next step uses (`a + b = s`, then a step on `s`)
    /// and its next step replaced by the steps `rewrite` gives for the pair (kept when it gives nil).
    private static func rewritingSums(
        _ steps: [SolutionStep], _ rewrite: (_ sum: SolutionStep, _ next: SolutionStep) -> [SolutionStep]?
    ) -> [SolutionStep] {
        var result: [SolutionStep] = []
        var index = 0
        while index < steps.count {
            let sum = steps[index]
            if index + 1 < steps.count, sum.operation == .add,
                !steps[(index + 2)...].contains(where: { $0.left == sum.value || $0.right == sum.value }),
                let replacement = rewrite(sum, steps[index + 1])
            {
                result += replacement
                index += 2
            } else {
                result.append(sum)
                index += 1
            }
        }
        return result
    }

    /// `steps` with every run of two or more chained ``adjustsTotal`` steps (each one's left operand
    /// the result of the one before) put in a random order, uniformly among the orders whose
    /// results all stay within 2…`limit` (a run with no such order is left as it is). A run starts
    /// from the same total and ends at the same result (the amounts are only added and taken in
    /// another order), so the steps after it and the answer do not change.
    static func reordered(_ steps: [SolutionStep], limit: Int, rng: inout SplitMix64) -> [SolutionStep] {
        var result = steps
        var start = 0
        while start < steps.count {
            var end = start + 1
            if steps[start].adjustsTotal {
                while end < steps.count && steps[end].adjustsTotal && steps[end].left == steps[end - 1].value {
                    end += 1
                }
            }
            if end - start >= 2 {
                let orders = permutations(Array(steps[start..<end])).compactMap {
                    rechained($0, from: steps[start].left, limit: limit)
                }
                // Empty only when even the generator's own order breaks `limit`: then keep it.
                if !orders.isEmpty { result.replaceSubrange(start..<end, with: rng.pick(orders)) }
            }
            start = end
        }
        return result
    }

    /// The steps applied one after another from `total`, or nil when a result leaves 2…`limit`.
    private static func rechained(_ run: [SolutionStep], from total: Int, limit: Int) -> [SolutionStep]? {
        var total = total
        var out: [SolutionStep] = []
        for step in run {
            let value = step.operation == .add ? total + step.right : total - step.right
            guard (2...limit).contains(value) else { return nil }
            out.append(
                SolutionStep(
                    left: total, operation: step.operation, right: step.right, value: value,
                    template: step.template, adjustsTotal: true))
            total = value
        }
        return out
    }

    /// Every order of `items` (a run has at most four steps, so at most 24 orders).
    private static func permutations(_ items: [SolutionStep]) -> [[SolutionStep]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i in
            var rest = items
            let first = rest.remove(at: i)
            return permutations(rest).map { [first] + $0 }
        }
    }
}

/// Plans a solution variant may follow other than the generator's own: the same answer through other
/// intermediate results, so other facts (see ``SolutionStep/solutions(of:answer:count:style:plans:limit:rng:)``).
public struct PlanVariations: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// A running total's neighbouring gains and losses in another valid order
    /// (``SolutionStep/reordered(_:limit:rng:)``).
    public static let reorderedTotals = PlanVariations(rawValue: 1 << 0)
    /// A sum taken from an amount part by part: `200 - 16 = 184`, `184 - 27 = 157` instead of
    /// `16 + 27 = 43`, `200 - 43 = 157` (``SolutionStep/partwise(_:rng:)``).
    public static let partwiseSubtraction = PlanVariations(rawValue: 1 << 1)
    /// A sum that is then multiplied, multiplied out: `6 * 2 = 12`, `4 * 2 = 8`, `12 + 8 = 20` instead
    /// of `6 + 4 = 10`, `10 * 2 = 20` (``SolutionStep/distributed(_:rng:)``).
    public static let distributedProducts = PlanVariations(rawValue: 1 << 2)
}

/// Which ways of writing a step the solution variants use.
public enum VariantStyle: String, Sendable, Hashable, CaseIterable, Codable {
    /// Each step directly, split into tens and units, or with a second decomposition (⅓ each).
    case mixed
    /// Each step that has a decomposition into one-digit facts and round numbers is always written
    /// with one of them (split, column addition, through the next ten, repeated sum, chosen
    /// uniformly); only steps without one (divisions among them) are written directly. The generator's own
    /// solution is then not trained on unless every step is direct.
    case decomposed
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
    /// Whether training uses the generator's own solution too (false when the variant style never
    /// writes it; see ``VariantStyle/decomposed``).
    public var trainsOnOwnSolution: Bool

    /// A varied problem from its parts.
    public init(problem: Problem, solutions: [String], trainsOnOwnSolution: Bool = true) {
        self.problem = problem
        self.solutions = solutions
        self.trainsOnOwnSolution = trainsOnOwnSolution
    }

    /// The solutions a training run draws from: ``solutions``, without the generator's own when
    /// ``trainsOnOwnSolution`` is false (and there is another).
    public var trainingSolutions: [String] {
        trainsOnOwnSolution || solutions.count < 2 ? solutions : Array(solutions.dropFirst())
    }
}
