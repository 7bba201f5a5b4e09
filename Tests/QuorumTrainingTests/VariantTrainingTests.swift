import Foundation
import QuorumModel
import QuorumTasks
import Testing

@testable import QuorumTraining

/// A tiny model configuration that trains in seconds (2 layers, width 64) on one-step problems.
private func tinyConfig(steps: Int = 60) -> SFTConfig {
    var config = SFTConfig.tiny(steps: steps)
    config.maxPositions = 200
    config.devCount = 2
    config.maxNewTokens = 64
    return config
}

/// Four one-step problems with up to `variants` solutions each.
private func variedProblems(_ config: SFTConfig, variants: Int) throws -> [VariedProblem] {
    try ProblemGenerator(config: config.generator)
        .generateVaried(split: .train, count: config.trainCount, seed: config.dataSeed, variants: variants)
}

/// Mean log-probability per problem of `solutions[i]` as the response to problem i.
private func meanLogProb(_ checkpoint: Checkpoint, _ problems: [Problem], _ solutions: [String]) -> Double {
    let batch = zip(problems, solutions).map { problem, solution in
        SFTExample(
            prompt: PromptFormat.standard.promptTokens(question: problem.question, tokenizer: checkpoint.tokenizer),
            response: PromptFormat.standard.responseTokens(solution: solution, tokenizer: checkpoint.tokenizer))
    }
    let logProbs = checkpoint.model.forward(SFTData.batch(batch)).sequenceLogProbs
    return logProbs.reduce(0) { $0 + Double($1) } / Double(logProbs.count)
}

@Suite("Solution variants and checkpoint selection in SFT")
struct VariantTrainingTests {
    @Test("the new keys load; select: margin without dev_k is refused")
    func configKeys() throws {
        let folder = FileManager.default.temporaryDirectory
        let good = folder.appendingPathComponent("sft-config-\(UUID().uuidString).json")
        try Data(
            #"{"solution_variants": 6, "dev_k": 8, "select": "margin", "select_min_greedy": 0.3}"#.utf8
        ).write(to: good)
        let config = try SFTConfig.load(path: good.path)
        #expect(config.solutionVariants == 6 && config.devK == 8 && config.select == "margin")
        #expect(config.selectMinGreedy == 0.3)
        var invalid = SFTConfig()
        invalid.select = "margin"
        #expect(throws: TrainingError.self) { try invalid.validate() }
        invalid.select = "best"
        invalid.devK = 8
        #expect(throws: TrainingError.self) { try invalid.validate() }
        invalid.select = "last"
        invalid.solutionVariants = 0
        #expect(throws: TrainingError.self) { try invalid.validate() }
    }

    @Test("variant_style loads; an unknown style is refused; decomposed training leaves out the own solution")
    func variantStyle() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sft-style-\(UUID().uuidString).json")
        let json =
            #"{"solution_variants": 4, "variant_style": "decomposed", "reorder_steps": true, "#
            + #""subtract_parts": true, "distribute_products": true}"#
        try Data(json.utf8).write(to: file)
        let loaded = try SFTConfig.load(path: file.path)
        #expect(loaded.variantStyle == "decomposed" && loaded.reorderSteps && loaded.subtractParts)
        #expect(loaded.planVariations == [.reorderedTotals, .partwiseSubtraction, .distributedProducts])
        #expect(SFTConfig().variantStyle == "mixed" && SFTConfig().planVariations.isEmpty)
        var invalid = SFTConfig()
        invalid.variantStyle = "direct"
        #expect(throws: TrainingError.self) { try invalid.validate() }
        // A problem whose solution has a decomposable step: only decomposed solutions are listed for
        // training, and a run on them learns those rather than the generator's own.
        var config = tinyConfig()
        config.maxNumber = 40
        config.trainCount = 8
        let varied = try ProblemGenerator(config: config.generator).generateVaried(
            split: .train, count: config.trainCount, seed: config.dataSeed, variants: 4, style: .decomposed)
        let decomposable = varied.filter { !$0.trainsOnOwnSolution }
        try #require(!decomposable.isEmpty)
        #expect(decomposable.allSatisfy { !$0.trainingSolutions.contains($0.problem.solution) })
        let problems = varied.map(\.problem)
        let trained = try SFTTrainer(config: config).run(
            train: problems, dev: [], solutions: varied.map(\.trainingSolutions))
        let plain = try SFTTrainer(config: config).run(train: problems, dev: [])
        let own = decomposable.map(\.problem.solution)
        let first = decomposable.map { $0.trainingSolutions[0] }
        let subset = decomposable.map(\.problem)
        // The decomposed solutions are longer, so compare how far each run moves first against own.
        let trainedGap = meanLogProb(trained, subset, first) - meanLogProb(trained, subset, own)
        let plainGap = meanLogProb(plain, subset, first) - meanLogProb(plain, subset, own)
        #expect(plainGap < -1)
        #expect(trainedGap > plainGap + 10, "trained \(trainedGap), plain \(plainGap)")
    }

    @Test("training draws every listed solution: a second variant is learned only when it is listed")
    func variantsAreTrained() throws {
        let config = tinyConfig()
        let varied = try variedProblems(config, variants: 2)
        try #require(varied.allSatisfy { $0.solutions.count == 2 })
        let problems = varied.map(\.problem)
        let second = varied.map { $0.solutions[1] }
        let canonical = varied.map { $0.solutions[0] }
        let plain = try SFTTrainer(config: config).run(train: problems, dev: [])
        let both = try SFTTrainer(config: config).run(train: problems, dev: [], solutions: varied.map(\.solutions))
        // Without variants the model prefers the canonical solution; with them it learns the second
        // one as well.
        #expect(meanLogProb(plain, problems, canonical) > meanLogProb(plain, problems, second) + 1)
        #expect(meanLogProb(both, problems, second) > meanLogProb(plain, problems, second) + 1)
        #expect(throws: TrainingError.self) {
            try SFTTrainer(config: config).run(train: problems, dev: [], solutions: [["only one list"]])
        }
    }

    @Test("select: margin keeps the weights of the evaluation with the largest majority-minus-greedy margin")
    func marginSelection() throws {
        var config = tinyConfig(steps: 40)
        config.evalEvery = 10
        config.devK = 4
        config.select = "margin"
        config.devCount = 4
        let train = try variedProblems(config, variants: 1).map(\.problem)
        let dev = try ProblemGenerator(config: config.generator).generate(split: .dev, count: 4, seed: 3)
        let checkpoint = try SFTTrainer(config: config).run(train: train, dev: dev)
        let record = try #require(checkpoint.record)
        #expect(record.evaluations.map(\.step) == [10, 20, 30, 40])
        #expect(record.evaluations.allSatisfy { $0.majorityAccuracy != nil && $0.k == 4 })
        let margins = record.evaluations.map { $0.majorityAccuracy! - $0.greedyAccuracy }
        let best = margins.indices.last { margins[$0] == margins.max()! }!
        let chosen = record.evaluations[best].step
        #expect(record.selectedStep == (chosen == 40 ? nil : chosen))
        // The weights kept give the chosen evaluation's greedy accuracy on the same dev problems.
        let evaluator = Evaluator(model: checkpoint.model, tokenizer: checkpoint.tokenizer, maxNewTokens: 64)
        #expect(evaluator.evaluate(dev, k: 0).result.greedyAccuracy == record.evaluations[best].greedyAccuracy)
    }

    @Test("records without the new fields still load, and a later run is recorded as what produced the weights")
    func recordCompatibility() throws {
        let train = try variedProblems(tinyConfig(), variants: 1).map(\.problem)
        let record = try #require(try SFTTrainer(config: tinyConfig(steps: 3)).run(train: train, dev: []).record)
        var object = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(record)) as? [String: Any])
        #expect(object["produced_by"] == nil && object["later_runs"] == nil)
        object.removeValue(forKey: "selected_step")
        let old = try JSONDecoder().decode(
            TrainingRecord.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(old == record && old.weightsFrom == "sft")
        let run = TrainingRecord.LaterRun(
            kind: "scpo", record: "scpo_record.json", sourceModel: "/m0", finished: "2026-11-29T18:00:00Z")
        let after = old.continued(by: run).continued(by: run)
        #expect(after.weightsFrom == "scpo" && after.kind == "sft" && after.laterRuns?.count == 2)
        let reloaded = try JSONDecoder().decode(TrainingRecord.self, from: JSONEncoder().encode(after))
        #expect(reloaded == after)
    }
}
