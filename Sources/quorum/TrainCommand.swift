import ArgumentParser
import Dispatch
import Foundation
import QuorumTraining
import Synchronization

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
            let display = ProgressDisplay(enabled: !quiet)
            let checkpoint = try await runOnDedicatedThread { () throws -> SendableCheckpointSummary in
                let checkpoint = try SFTTrainer(config: config).run { display.show($0) }
                display.finish()
                try checkpoint.save(directory: out)
                return SendableCheckpointSummary(record: checkpoint.record!)
            }
            let record = checkpoint.record
            let summary = TrainSummary(
                out: URL(fileURLWithPath: out).standardizedFileURL.path, parameters: record.parameters,
                vocabulary: record.vocabulary, steps: record.losses.count,
                finalLoss: record.losses.suffix(20).reduce(0, +) / Double(max(1, min(20, record.losses.count))),
                trainSeconds: record.timings.trainSeconds, totalSeconds: record.timings.totalSeconds,
                tokensPerSecond: record.timings.tokensPerSecond, loadAverageStart: record.timings.loadAverageStart,
                loadAverageEnd: record.timings.loadAverageEnd, dev: record.evaluations.last, config: record.config,
                quantStages: record.quantStages)
            if json {
                try printJSON(summary)
            } else {
                var line = "wrote \(summary.out): \(summary.parameters) parameters, \(summary.steps) steps in "
                line += "\(formatDuration(summary.trainSeconds)) (\(Int(summary.tokensPerSecond)) tok/s), "
                line += "loss \(String(format: "%.3f", summary.finalLoss))"
                if let dev = summary.dev {
                    line += ", dev greedy \(String(format: "%.1f", dev.greedyAccuracy * 100)) %"
                }
                print(line)
            }
        }
    }
}

/// The part of a finished run that crosses back from the training thread.
private struct SendableCheckpointSummary: Sendable {
    var record: TrainingRecord
}

/// What `quorum train sft --json` prints.
private struct TrainSummary: Encodable {
    var out: String
    var parameters: Int
    var vocabulary: Int
    var steps: Int
    /// Mean loss of the last 20 steps.
    var finalLoss: Double
    var trainSeconds: Double
    var totalSeconds: Double
    var tokensPerSecond: Double
    var loadAverageStart: Double?
    var loadAverageEnd: Double?
    var dev: TrainingRecord.DevEvaluation?
    var config: SFTConfig
    /// Quantization-aware training stages, when there were any.
    var quantStages: [QuantizationStage]?

    enum CodingKeys: String, CodingKey {
        case out, parameters, vocabulary, steps, finalLoss = "final_loss", trainSeconds = "train_seconds"
        case totalSeconds = "total_seconds", tokensPerSecond = "tokens_per_second"
        case loadAverageStart = "load_average_start", loadAverageEnd = "load_average_end", dev, config
        case quantStages = "quant_stages"
    }
}

/// Live progress on standard error: one line rewritten in place on a terminal, a line every
/// 10 seconds otherwise (logs stay short).
private final class ProgressDisplay: Sendable {
    let enabled: Bool
    let terminal: Bool
    let state = Mutex<(lastPrint: Double, pending: Bool)>((0, false))

    init(enabled: Bool) {
        self.enabled = enabled
        terminal = isatty(2) != 0
    }

    func show(_ event: SFTEvent) {
        guard enabled else { return }
        switch event {
        case .stage(let text):
            clearLine()
            write("\(text)…\n")
        case .step(let s):
            let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
            let due = state.withLock { state -> Bool in
                let interval = terminal ? 0.25 : 10
                guard now - state.lastPrint >= interval || s.step == s.totalSteps else { return false }
                state.lastPrint = now
                state.pending = terminal
                return true
            }
            guard due else { return }
            let line =
                (s.quantization.map { "[\($0)] " } ?? "")
                + String(
                    format: "step %d/%d  loss %.4f (avg %.4f)  lr %.2e  |g| %.2f  %.0f tok/s  elapsed %@  ETA %@",
                    s.step, s.totalSteps, s.loss, s.smoothedLoss, s.learningRate, s.gradientNorm, s.tokensPerSecond,
                    formatDuration(s.elapsedSeconds), formatDuration(s.etaSeconds))
            write(terminal ? "\r\u{1B}[K" + line : line + "\n")
        case .evaluation(let e):
            clearLine()
            let majority = e.majorityAccuracy.map {
                String(
                    format: ", majority-of-%d %.1f %% (margin %+.1f)", e.k ?? 0, $0 * 100,
                    ($0 - e.greedyAccuracy) * 100)
            }
            write(
                String(
                    format: "dev @ step %d: loss %.4f, greedy accuracy %.1f %%%@ of %d (%.1f s)\n", e.step, e.loss,
                    e.greedyAccuracy * 100, majority ?? "", e.count, e.seconds))
        }
    }

    func finish() { clearLine() }

    private func clearLine() {
        let pending = state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        if pending { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// `h:mm:ss` or `m:ss`.
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let total = Int(seconds.rounded())
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
    return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
}
