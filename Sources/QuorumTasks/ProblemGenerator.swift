import QuorumCore
/// Writes synthetic multi-step arithmetic word problems with worked solutions.
///
/// A seed fixes one stream of candidate problems; each split keeps the candidates whose question
/// hashes into it (see ``DataSplit``), skipping repeats, so the same seed and settings always give
/// the same problems and no two splits ever share one.
public struct ProblemGenerator: Sendable {
    /// The difficulty knobs.
    public let config: GeneratorConfig

    /// Every template: ten running-total settings and ten structured shapes.
    static let templates: [Template] = TallyDomains.all.map(\.template) + StructuredTemplates.all

    /// The names of all templates, e.g. `tally.fruit`, `ages`.
    public static var templateNames: [String] { templates.map(\.name) }

    /// A generator with validated knobs.
    ///
    /// - Throws: ``TaskError`` if the knobs are out of range.
    public init(config: GeneratorConfig = GeneratorConfig()) throws {
        try config.validate()
        self.config = config
    }

    /// `count` distinct problems of `split`, deterministic in `seed` and the knobs.
    ///
    /// - Throws: ``TaskError`` with code `exhausted` if the knobs allow too few distinct problems.
    public func generate(split: DataSplit, count: Int, seed: UInt64) throws -> [Problem] {
        try generateVaried(split: split, count: count, seed: seed, variants: 1).map(\.problem)
    }

    /// The problems ``generate(split:count:seed:)`` gives, each with up to `variants` distinct
    /// valid solutions (the problem's own first; see ``VariedProblem``). The problems do not depend
    /// on `variants`, `style` or `plans`; the extra solutions, written in `style` and following the
    /// other plans `plans` allows, are deterministic in `seed` too.
    ///
    /// - Throws: ``TaskError`` with code `exhausted` if the knobs allow too few distinct problems.
    public func generateVaried(
        split: DataSplit, count: Int, seed: UInt64, variants: Int, style: VariantStyle = .mixed,
        plans: PlanVariations = []
    ) throws -> [VariedProblem] {
        var rng = SplitMix64(seed: seed)
        var seen: Set<String> = []
        var problems: [VariedProblem] = []
        problems.reserveCapacity(count)
        let attemptLimit = count * 200 + 10_000
        let allowed = config.operations == nil ? nil : config.allowedOperations
        var attempts = 0
        while problems.count < count {
            attempts += 1
            guard attempts <= attemptLimit else {
                throw TaskError(
                    .exhausted,
                    "found only \(problems.count) of \(count) distinct \(split.rawValue) problems with steps "
                        + "\(config.minSteps)–\(config.maxSteps), max-number \(config.maxNumber) and max-result "
                        + "\(config.resultLimit)" + (config.operations.map { " and operations \($0)" } ?? "")
                        + "; ask for fewer, raise --max-number or --max-result, widen the steps range or allow more "
                        + "operations")
            }
            guard
                let varied = candidate(
                    &rng, split: split, variants: variants, style: style, plans: plans, operations: allowed),
                seen.insert(DataSplit.normalize(varied.problem.question)).inserted
            else { continue }
            problems.append(varied)
        }
        return problems
    }

    /// The next candidate from the stream with up to `variants` solutions, or nil if the drawn
    /// template could not keep its rules, its solution uses an operation not in `operations`, or the
    /// question belongs to another split.
    func candidate(
        _ rng: inout SplitMix64, split: DataSplit, variants: Int = 1, style: VariantStyle = .mixed,
        plans: PlanVariations = [], operations: Set<Character>? = nil
    ) -> VariedProblem? {
        let steps = rng.int(in: config.minSteps...config.maxSteps)
        let eligible = Self.templates.filter { $0.steps.contains(steps) }
        let template = rng.pick(eligible)
        let storySeed = rng.next()
        var context = TemplateContext(rng: SplitMix64(seed: storySeed), config: config)
        template.write(steps, &context)
        guard let (question, solution, answer) = context.story.finished(), context.story.lines.count == steps else {
            return nil
        }
        if let operations, !context.story.steps.allSatisfy({ operations.contains(Character($0.operation.rawValue)) }) {
            return nil
        }
        let hash = DataSplit.questionHash(question)
        guard DataSplit.of(hash: hash) == split else { return nil }
        let problem = Problem(
            id: DataSplit.id(hash: hash), question: question, answer: String(answer), solution: solution)
        guard variants > 1 else { return VariedProblem(problem: problem, solutions: [solution]) }
        // A stream of its own, so the problems stay the same whatever `variants` is.
        var variantRNG = SplitMix64(seed: storySeed ^ 0x9E37_79B9_7F4A_7C15)
        let storySteps = context.story.steps
        return VariedProblem(
            problem: problem,
            solutions: SolutionStep.solutions(
                of: storySteps, answer: answer, count: variants, style: style, plans: plans,
                limit: config.resultLimit, rng: &variantRNG),
            trainsOnOwnSolution: style == .mixed || storySteps.allSatisfy(\.directOnly))
    }
}
