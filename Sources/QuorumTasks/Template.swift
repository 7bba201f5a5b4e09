import QuorumCore
/// One family of problems: a name, the step counts it can produce, and how to write one.
struct Template: Sendable {
    /// A short name, for statistics and tests.
    let name: String
    /// The numbers of reasoning steps this template can produce.
    let steps: ClosedRange<Int>
    /// Writes a problem with exactly `steps` steps into the story, drawing from the generator.
    let write: @Sendable (_ steps: Int, _ context: inout TemplateContext) -> Void
}

/// What a template draws on while writing: the random stream, the story, the number limits.
struct TemplateContext {
    /// The random stream.
    var rng: SplitMix64
    /// The problem being written.
    var story: Story
    /// The largest number a question states.
    let maxNumber: Int

    /// A context with a fresh story.
    init(rng: SplitMix64, config: GeneratorConfig) {
        self.rng = rng
        self.story = Story(maxResult: config.resultLimit)
        self.maxNumber = config.maxNumber
    }

    /// A random integer in `low...high`, with `high` clamped to ``maxNumber`` (and to at least `low`).
    mutating func number(_ low: Int, _ high: Int) -> Int {
        rng.int(in: low...max(low, min(high, maxNumber)))
    }

    /// A small multiplier or group count, 2–9.
    mutating func small() -> Int { number(2, 9) }

    /// A divisor of `value` in `smallest`…`largest` that leaves a quotient of at least 2, if any.
    mutating func divisor(of value: Int, smallest: Int = 2, largest: Int = 6) -> Int? {
        let choices = (smallest...largest).filter { value % $0 == 0 && value / $0 >= 2 }
        return choices.isEmpty ? nil : rng.pick(choices)
    }

    /// A number in `low...high` (clamped to the result limit) that is a multiple of `factor`, if one exists.
    mutating func multiple(of factor: Int, _ low: Int, _ high: Int) -> Int? {
        let top = min(high, story.maxResult)
        let first = (low + factor - 1) / factor
        let last = top / factor
        guard first <= last else { return nil }
        return rng.int(in: first...last) * factor
    }
}
