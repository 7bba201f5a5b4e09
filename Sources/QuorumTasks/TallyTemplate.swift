import QuorumCore
/// A sentence of a question and the solution line that goes with it (`{e}` is the step's expression).
struct Phrase: Sendable {
    /// The question sentence.
    let question: String
    /// The solution line; `{e}` becomes e.g. `36 - 8 = 28`.
    let line: String

    /// A phrase from its two templates.
    init(_ question: String, _ line: String) {
        self.question = question
        self.line = line
    }
}

/// A setting for "running total" stories: someone starts with some quantity and events change it.
/// Events and their wording come from the domain; the arithmetic scaffold is shared.
struct TallyDomain: Sendable {
    /// The domain's name (becomes the template name `tally.<name>`).
    let name: String
    /// Plural nouns counted, e.g. "apples".
    let units: [String]
    /// Containers as (singular, plural), e.g. ("box", "boxes"); empty if the domain has none.
    let groups: [(one: String, many: String)]
    /// Openings without a step: `{n}` is the starting amount.
    let start: [String]
    /// Openings that are a step: `{a}` groups of `{b}`.
    let startGroups: [Phrase]
    /// Events adding `{n}`.
    let gains: [Phrase]
    /// Events removing `{n}`.
    let losses: [Phrase]
    /// Events multiplying by `{k}` (`{times}` is "twice", "three times"…).
    let multiplies: [Phrase]
    /// Events keeping one of `{k}` equal shares (`{others}` = k − 1).
    let keepShare: [Phrase]
    /// Events adding `{a}` more groups of `{b}` (two steps: product, then sum).
    let gainGroups: [(Phrase, Phrase)]
    /// Events giving away a fraction `{fraction}` of the total (two steps: quotient, then difference).
    let lossFraction: [(Phrase, Phrase)]
    /// Closing questions about the running total.
    let questions: [String]
    /// Closing events that split the total into `{k}` equal parts and ask for one part.
    let finalShares: [Phrase]

    /// The template for this domain: 1–4 steps.
    var template: Template {
        Template(name: "tally.\(name)", steps: 1...4) { steps, context in writeStory(steps: steps, &context) }
    }

    /// An event the story can take next.
    private enum Event: CaseIterable {
        case gain, loss, multiply, keepShare, gainGroups, lossFraction

        /// Steps the event costs.
        var cost: Int { self == .gainGroups || self == .lossFraction ? 2 : 1 }
    }

    /// Writes one story with exactly `steps` steps.
    private func writeStory(steps: Int, _ context: inout TemplateContext) {
        let person = context.rng.person()
        let friend = context.rng.person(besides: person)
        let unit = context.rng.pick(units)
        let group = groups.isEmpty ? (one: "group", many: "groups") : context.rng.pick(groups)
        var values = person.values()
        values.merge(friend.values(prefix: "friend.")) { $1 }
        values["friend"] = friend.name
        values["unit"] = unit
        values["group"] = group.one
        values["groups"] = group.many

        var remaining = steps
        let endsWithShare = !finalShares.isEmpty && steps >= 2 && context.rng.chance(1, in: 3)
        if endsWithShare { remaining -= 1 }

        // Opening.
        var total: Int
        if !startGroups.isEmpty && remaining >= 1 && (remaining == steps || context.rng.chance(1, in: 2)) {
            let a = context.small()
            let b = context.number(2, 12)
            values["a"] = "\(a)"
            values["b"] = "\(b)"
            let phrase = context.rng.pick(startGroups)
            context.story.say(fill(phrase.question, values))
            total = context.story.step(a, .multiply, b) { fill(phrase.line, values.merging(["e": $0]) { $1 }) }
            remaining -= 1
        } else {
            total = context.number(8, context.maxNumber)
            values["n"] = "\(total)"
            context.story.say(fill(context.rng.pick(start), values))
        }

        // Events; a phrase is used at most once per story.
        var removedSome = false
        var used: Set<String> = []
        func fresh(_ phrases: [Phrase]) -> [Phrase] { phrases.filter { !used.contains($0.question) } }
        func fresh(_ pairs: [(Phrase, Phrase)]) -> [(Phrase, Phrase)] { pairs.filter { !used.contains($0.0.question) } }
        while remaining > 0 {
            let options = Event.allCases.filter { event in
                event.cost <= remaining && available(event, total: total, context: context)
                    && !phrases(for: event, fresh: fresh, fresh).isEmpty
            }
            guard !options.isEmpty else { return context.story.fail() }
            switch context.rng.pick(options) {
            case .gain:
                values["n"] = "\(context.number(2, context.maxNumber))"
                total = say(context.rng.pick(fresh(gains)), &used, total, .add, Int(values["n"]!)!, &values, &context)
            case .loss:
                removedSome = true
                values["n"] = "\(context.number(2, min(total - 2, context.maxNumber)))"
                total = say(
                    context.rng.pick(fresh(losses)), &used, total, .subtract, Int(values["n"]!)!, &values, &context)
            case .multiply:
                let k = context.rng.int(in: 2...max(2, min(4, context.story.maxResult / total)))
                values["k"] = "\(k)"
                values["times"] = NumberWords.times(k)
                total = say(context.rng.pick(fresh(multiplies)), &used, total, .multiply, k, &values, &context)
            case .keepShare:
                let k = context.divisor(of: total, smallest: 3, largest: 5)!
                values["k"] = "\(k)"
                values["others"] = "\(k - 1)"
                total = say(context.rng.pick(fresh(keepShare)), &used, total, .divide, k, &values, &context)
            case .gainGroups:
                let (first, second) = context.rng.pick(fresh(gainGroups))
                used.insert(first.question)
                let a = context.small()
                let b = context.number(2, 12)
                values["a"] = "\(a)"
                values["b"] = "\(b)"
                context.story.say(fill(first.question, values))
                let added = context.story.step(a, .multiply, b) { fill(first.line, values.merging(["e": $0]) { $1 }) }
                total = context.story.step(total, .add, added) { fill(second.line, values.merging(["e": $0]) { $1 }) }
            case .lossFraction:
                removedSome = true
                let (first, second) = context.rng.pick(fresh(lossFraction))
                used.insert(first.question)
                let k = context.divisor(of: total, largest: 5)!
                values["fraction"] = NumberWords.fraction(k)
                context.story.say(fill(first.question, values))
                let part = context.story.step(total, .divide, k) { fill(first.line, values.merging(["e": $0]) { $1 }) }
                total = context.story.step(total, .subtract, part) {
                    fill(second.line, values.merging(["e": $0]) { $1 })
                }
            }
            remaining = steps - context.story.lines.count - (endsWithShare ? 1 : 0)
        }

        // Closing.
        if endsWithShare {
            guard let k = context.divisor(of: total, largest: 8) else { return context.story.fail() }
            values["k"] = "\(k)"
            let phrase = context.rng.pick(finalShares)
            context.story.say(fill(phrase.question, values))
            context.story.step(total, .divide, k) { fill(phrase.line, values.merging(["e": $0]) { $1 }) }
        } else {
            // "… left?" only reads right once something was taken away.
            let fitting = removedSome ? questions : questions.filter { !$0.contains(" left") }
            context.story.say(fill(context.rng.pick(fitting.isEmpty ? questions : fitting), values))
        }
    }

    /// The phrases still unused for an event (pairs counted by their first phrase).
    private func phrases(
        for event: Event, fresh: ([Phrase]) -> [Phrase], _ freshPairs: ([(Phrase, Phrase)]) -> [(Phrase, Phrase)]
    ) -> [Phrase] {
        switch event {
        case .gain: fresh(gains)
        case .loss: fresh(losses)
        case .multiply: fresh(multiplies)
        case .keepShare: fresh(keepShare)
        case .gainGroups: freshPairs(gainGroups).map(\.0)
        case .lossFraction: freshPairs(lossFraction).map(\.0)
        }
    }

    /// Whether an event can happen to `total` without breaking the number rules.
    private func available(_ event: Event, total: Int, context: TemplateContext) -> Bool {
        func hasDivisor(from smallest: Int) -> Bool { (smallest...5).contains { total % $0 == 0 && total / $0 >= 2 } }
        switch event {
        case .gain: return total + context.maxNumber <= context.story.maxResult
        case .loss: return total >= 5
        case .multiply: return total * 2 <= context.story.maxResult
        case .keepShare: return hasDivisor(from: 3)
        case .gainGroups: return !groups.isEmpty && total + 9 * 12 <= context.story.maxResult
        case .lossFraction: return hasDivisor(from: 2)
        }
    }

    /// Says a one-step event and performs its step.
    private func say(
        _ phrase: Phrase, _ used: inout Set<String>, _ total: Int, _ operation: Operation, _ operand: Int,
        _ values: inout [String: String],
        _ context: inout TemplateContext
    ) -> Int {
        used.insert(phrase.question)
        context.story.say(fill(phrase.question, values))
        let captured = values
        let adjusts = operation == .add || operation == .subtract
        return context.story.step(total, operation, operand, adjustsTotal: adjusts) {
            fill(phrase.line, captured.merging(["e": $0]) { $1 })
        }
    }
}
