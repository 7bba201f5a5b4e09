import ArgumentParser
import Foundation
import QuorumTraining
import QuorumCore

/// `quorum train …`: training runs. `sft` trains the seed model M0 from scratch; `scpo` runs a
/// preference round on it.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train models: the supervised seed model (sft) and SCPO rounds (scpo).",
        subcommands: [SFT.self, TrainSCPOCommand.self])

    /// `quorum train sft`: supervised training of the seed model on labeled arithmetic problems.
    struct SFT: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sft",
            abstract: "Train the seed model M0 from scratch on labeled problems (question → solution).",
            discussion: """
                Settings come from --config (JSON, e.g. pipelines/seed-model.json), then any flag given \
                overrides its key. The checkpoint folder gets config.json + model.safetensors, tokenizer.json \
                and training_record.json. Progress (step, loss, tokens/s, ETA) goes to standard error.
                """)

        @Option(help: "A JSON training configuration (snake_case keys; absent keys keep their defaults).")
        var config: String?
        @Option(help: "The checkpoint folder to write.")
        var out: String
        @Flag(help: "Replace a checkpoint already in --out.")
        var force = false

        @Option(help: "Labeled training problems.") var trainCount: Int?
        @Option(help: "Seed of the problem generator.") var dataSeed: UInt64?
        @Option(help: "Fewest reasoning steps per problem (1–4).") var minSteps: Int?
        @Option(help: "Most reasoning steps per problem (1–4).") var maxSteps: Int?
        @Option(help: "Largest basic number in the problems.") var maxNumber: Int?
        @Option(help: "Largest result in the problems (default: ten times --max-number).") var maxResult: Int?
        @Option(help: "Operations the problems may use, e.g. +-* for no division (default: all four).")
        var operations: String?
        @Option(help: "Tokenizer vocabulary size.") var vocab: Int?
        @Option(help: "Transformer layers.") var layers: Int?
        @Option(help: "Hidden size.") var hidden: Int?
        @Option(help: "Attention heads.") var heads: Int?
        @Option(help: "Key/value heads.") var kvHeads: Int?
        @Option(help: "Feed-forward width.") var intermediate: Int?
        @Option(help: "Optimiser steps.") var steps: Int?
        @Option(help: "Sequences per micro-batch.") var batch: Int?
        @Option(help: "Micro-batches per optimiser step.") var gradAccum: Int?
        @Option(help: "Peak learning rate.") var lr: Double?
        @Option(help: "Final learning rate of the cosine decay.") var minLR: Double?
        @Option(help: "Warm-up steps.") var warmup: Int?
        @Option(help: "Seed of the weights and the data order.") var seed: UInt64?
        @Option(help: "Evaluate on dev every this many steps (0: only at the end).") var evalEvery: Int?
        @Option(help: "Dev problems per evaluation (0: none).") var devCount: Int?
        @Option(
            help: """
                Quantization-aware training: b1.58 (ternary weights, 8-bit activations) or a4.8 (BitNet a4.8's \
                two stages: b1.58 first, then 4-bit/sparse activations with the same optimizer state; needs \
                hidden_act relu2). none: floating point.
                """) var quant: String?
        @Option(help: "With --quant a4.8: fraction of the steps in stage 1 (b1.58).") var quantStage1Fraction: Double?

        @Flag(help: "Print a JSON summary on standard output.") var json = false
        @Flag(help: "No progress on standard error.") var quiet = false

        /// The configuration file with the flags applied on top.
        func resolvedConfig() throws -> SFTConfig {
            var c = SFTConfig()
            if let config {
                do { c = try SFTConfig.load(path: config) } catch { throw ValidationError(error.message) }
            }
            if let trainCount { c.trainCount = trainCount }
            if let dataSeed { c.dataSeed = dataSeed }
            if let minSteps { c.minSteps = minSteps }
            if let maxSteps { c.maxSteps = maxSteps }
            if let maxNumber { c.maxNumber = maxNumber }
            if let maxResult { c.maxResult = maxResult }
            if let operations { c.operations = operations }
            if let vocab { c.vocabSize = vocab }
            if let layers { c.layers = layers }
            if let hidden { c.hidden = hidden }
            if let heads { c.heads = heads }
            if let kvHeads { c.kvHeads = kvHeads }
            if let intermediate { c.intermediate = intermediate }
            if let steps { c.steps = steps }
            if let batch { c.batch = batch }
            if let gradAccum { c.gradAccum = gradAccum }
            if let lr { c.lr = lr }
            if let minLR { c.minLR = minLR }
            if let warmup { c.warmup = warmup }
            if let seed { c.seed = seed }
            if let evalEvery { c.evalEvery = evalEvery }
            if let devCount { c.devCount = devCount }
            if let quant { c.quant = quant }
            if let quantStage1Fraction { c.quantStage1Fraction = quantStage1Fraction }
            if c.minLR > c.lr { c.minLR = c.lr / 10 }
            if c.warmup > c.steps { c.warmup = c.steps / 10 }
            do { try c.validate() } catch { throw ValidationError(error.message) }
            return c
        }

        func run() async throws {
            let config = try resolvedConfig()
            let out = self.out
            if !force, FileManager.default.fileExists(atPath: out + "/model.safetensors") {
                throw ValidationError(
                    "\(out) already holds a checkpoint; pass --force to replace it or choose another --out")
            }
            let display = ProgressLine(enabled: !quiet)
            let record = try await runOnDedicatedThread { () throws -> TrainingRecord in
                let checkpoint = try SFTTrainer(config: config).run { event in
                    if case .step(let s) = event {
                        display.update(event.description, force: s.step == s.totalSteps)
                    } else {
                        display.print(event.description)
                    }
                }
                display.finish()
                try checkpoint.save(directory: out)
                return checkpoint.record!
            }
            let summary = SFTSummary(record: record, out: URL(fileURLWithPath: out).standardizedFileURL.path)
            if json { try printJSON(summary) } else { print(summary.line) }
        }
    }
}
