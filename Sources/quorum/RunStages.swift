import ArgumentParser
import Foundation
import QuorumPipeline
import QuorumTasks
import QuorumTraining
import QuorumVoting

/// The model work of `quorum run`: the same code paths as `quorum train sft`, `quorum train scpo`
/// and `quorum eval`, so a pipeline round is exactly what a person would run by hand.
func makePipelineStages(spec: PipelineSpec) throws -> PipelineStages {
    PipelineStages(
        trainSeed: { configPath, output in
            let command = try TrainCommand.SFT.parse(["--config", configPath, "--out", output, "--force"])
            try await command.run()
        },
        trainRound: { round, reference, pairs, output in
            let pairsFile = output + ".pairs.jsonl"
            try FileManager.default.createDirectory(
                atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try PairsJSONL.encode(pairs).write(to: URL(fileURLWithPath: pairsFile))
            let mode: String =
                switch spec.mode {
                case .scpo, .scpoSemi: "scpo"
                case .scpoUnweighted: "scpo-unweighted"
                case .irpoGold: "irpo-gold"
                case .lmsi: "lmsi"
                }
            let trainer = spec.trainer
            let command = try TrainSCPOCommand.parse([
                "--model", reference, "--pairs", pairsFile, "--out", output, "--force", "--mode", mode,
                "--epochs", String(trainer.epochs), "--lr", String(trainer.learningRate), "--batch",
                String(trainer.batchSize), "--beta", String(trainer.beta), "--alpha", String(trainer.alpha),
                "--seed", String(round), "--max-new-tokens", String(spec.sampling.maxNewTokens),
                "--dev-count", String(trainer.devCount),
            ])
            try await command.run()
            return (try? String(contentsOfFile: output + "/" + TrainSCPOCommand.recordFile, encoding: .utf8)) ?? "{}"
        },
        evaluate: { model in
            let evaluation = spec.evaluation
            let (result, _) = try await runOnDedicatedThread { () throws -> (EvaluationResult, [ProblemOutcome]) in
                let checkpoint = try Checkpoint.load(directory: model)
                let split = DataSplit(rawValue: evaluation.split) ?? .test
                let generator = try ProblemGenerator(config: checkpoint.record?.config.generator ?? GeneratorConfig())
                let problems = try generator.generate(
                    split: split, count: evaluation.count, seed: checkpoint.record?.config.dataSeed ?? 1)
                let evaluator = Evaluator(
                    model: checkpoint.model, tokenizer: checkpoint.tokenizer, format: checkpoint.promptFormat,
                    maxNewTokens: spec.sampling.maxNewTokens)
                return evaluator.evaluate(problems, k: evaluation.k, temperature: 0.7, topP: 0.9, seed: 0)
            }
            return EvaluationNumbers(
                problems: result.count, greedyAccuracy: result.greedyAccuracy,
                majorityAccuracy: result.majorityAccuracy ?? 0, k: evaluation.k)
        })
}
