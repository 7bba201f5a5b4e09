/// The four operations a solution step may use, written as in solutions.
enum Operation: String, Sendable, Hashable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
}

/// A problem under construction: question sentences, one solution line per arithmetic step, and the
/// rules every step must keep (integer, positive, not above the result limit, exact division).
struct Story {
    /// The question's sentences so far.
    private(set) var sentences: [String] = []
    /// The solution's lines so far (without the `####` line).
    private(set) var lines: [String] = []
    /// The steps behind ``lines``, in order, for writing other valid solutions (see ``SolutionStep``).
    private(set) var steps: [SolutionStep] = []
    /// The last step's result.
    private(set) var result: Int?
    /// Whether a step broke a rule; the template's attempt is then thrown away.
    private(set) var failed = false
    /// The largest result a step may have.
    let maxResult: Int

    /// An empty story with a result limit.
    init(maxResult: Int) { self.maxResult = maxResult }

    /// Adds a question sentence (its first letter capitalised).
    mutating func say(_ sentence: String) { sentences.append(capitalizingFirst(sentence)) }

    /// Performs `left op right`, records a solution line made from the expression `"a op b = c"`,
    /// and returns the result. A result below 2, above the limit, or a division with a remainder
    /// marks the story failed (the returned value is then meaningless). `adjustsTotal` marks a step
    /// that adds a stated amount to, or takes it from, the result of the step before it (see
    /// ``SolutionStep/adjustsTotal``).
    @discardableResult
    mutating func step(
        _ left: Int, _ operation: Operation, _ right: Int, adjustsTotal: Bool = false, _ line: (String) -> String
    ) -> Int {
        let value: Int
        switch operation {
        case .add: value = left + right
        case .subtract: value = left - right
        case .multiply: value = left * right
        case .divide:
            guard right > 0, left % right == 0 else {
                failed = true
                return 2
            }
            value = left / right
        }
        if value < 2 || value > maxResult { failed = true }
        lines.append(capitalizingFirst(line("\(left) \(operation.rawValue) \(right) = \(value)")))
        steps.append(
            SolutionStep(
                left: left, operation: operation, right: right, value: value,
                template: line(SolutionStep.slot), adjustsTotal: adjustsTotal))
        result = value
        return value
    }

    /// Marks the story failed (a template found its numbers unusable).
    mutating func fail() { failed = true }

    /// The finished question, solution and answer, or nil if a rule was broken, nothing was
    /// computed, or the question states a number above the result limit.
    func finished() -> (question: String, solution: String, answer: Int)? {
        guard !failed, let result, !lines.isEmpty else { return nil }
        let question = sentences.joined(separator: " ")
        let stated = question.split { !$0.isASCII || !$0.isNumber }.compactMap { Int($0) }
        guard stated.allSatisfy({ $0 <= maxResult }) else { return nil }
        return (question, (lines + ["#### \(result)"]).joined(separator: "\n"), result)
    }
}

/// `text` with its first character uppercased.
func capitalizingFirst(_ text: String) -> String {
    guard let first = text.first else { return text }
    return first.uppercased() + text.dropFirst()
}

/// `template` with every `{key}` replaced by `values[key]`.
func fill(_ template: String, _ values: [String: String]) -> String {
    var out = ""
    var rest = Substring(template)
    while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
        out += rest[..<open]
        let key = String(rest[rest.index(after: open)..<close])
        out += values[key] ?? "{\(key)}"
        rest = rest[rest.index(after: close)...]
    }
    return out + rest
}
