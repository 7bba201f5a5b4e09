import CoreMetrics
import Foundation
import QuorumServing
import QuorumTasks
import QuorumTraining
import QuorumVoting
import SCPO
import QuorumCore

extension PipelineStages {
    /// The model work of a pipeline as library calls: seed training with ``SFTTrainer``, each round
    /// with ``SCPORound``, evaluation with the ``Evaluator`` in the spec's serving format (loaded by
    /// ``ModelFolder``). The same calls back `quorum train sft`, `quorum train scpo` and `quorum eval`,
    /// so a round is exactly what a person would run by hand.
    public static func standard(spec: PipelineSpec) -> PipelineStages {
        PipelineStages(
            trainSeed: { configPath, output in
                let config = try SFTConfig.load(path: configPath)
                try await runOnDedicatedThread {
                    try SFTTrainer(config: config).run().save(directory: output)
                }
            },
            trainRound: { round, reference, pairs, output in
                try await runOnDedicatedThread { () throws -> String in
                    let start = try Checkpoint.load(directory: reference)
                    let trainer = spec.trainer
                    var config = trainer.scpo
                    config.mode = spec.mode.objective
                    config.seed = UInt64(round)
                    let dev = try trainer.devSplit(record: start.record, maxNewTokens: spec.sampling.maxNewTokens)
                    let dimensions = [("pipeline", spec.name), ("round", "\(round)")]
                    let (loss, margin, step) = (
                        Gauge(label: "quorum_training_loss", dimensions: dimensions),
                        Gauge(label: "quorum_training_reward_margin", dimensions: dimensions),
                        Gauge(label: "quorum_training_step", dimensions: dimensions)
                    )
                    let result = try SCPORound(config: config, dev: dev).train(
                        from: start, pairs: pairs, epochFolders: output,
                        sourceModel: URL(fileURLWithPath: reference).standardizedFileURL.path
                    ) { event in
                        guard case .step(let report) = event else { return }
                        loss.record(report.means.loss)
                        if let value = report.means.rewardMargin { margin.record(value) }
                        step.record(report.step)
                    }
                    try SCPORound.save(result, directory: output)
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    return String(decoding: try encoder.encode(result.record), as: UTF8.self)
                }
            },
            evaluate: { model in
                let evaluation = spec.evaluation
                return try await runOnDedicatedThread { () throws -> EvaluationNumbers in
                    let served = try ModelFolder.load(
                        directory: model, format: spec.servingFormat == .fp32 ? nil : spec.servingFormat)
                    let problems = try evaluation.problems(record: served.record)
                    let evaluator = Evaluator(
                        generator: served.generator, tokenizer: served.tokenizer, format: served.promptFormat,
                        maxNewTokens: spec.sampling.maxNewTokens)
                    let (result, outcomes) = evaluator.evaluate(
                        problems, k: evaluation.k, temperature: 0.7, topP: 0.9, seed: 0)
                    return EvaluationNumbers(
                        problems: result.count, greedyAccuracy: result.greedyAccuracy,
                        majorityAccuracy: result.majorityAccuracy, k: evaluation.k,
                        greedyCorrect: outcomes.map { $0.greedy == $0.gold },
                        majorityCorrect: evaluation.k > 0 ? outcomes.map { $0.majority == $0.gold } : [])
                }
            })
    }
}
