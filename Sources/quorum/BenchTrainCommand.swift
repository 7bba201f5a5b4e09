import ArgumentParser
import QuorumBench

/// `quorum bench train`: ``TrainingThroughputBenchmark``.
struct BenchTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training tokens/s of the Swift model (4-layer hidden-256 and ~20 M-parameter configs), as JSON.")

    /// `--config`: one model size or both.
    enum Choice: String, CaseIterable, ExpressibleByArgument {
        case small, medium, all
    }

    @Option(help: "Which configuration: small (4 layers, hidden 256), medium (~20 M parameters) or all.")
    var config = Choice.all
    @Option(help: "Sequences per step.") var batch = 8
    @Option(help: "Tokens per sequence.") var sequenceLength = 128
    @Option(help: "Timed steps per configuration.") var steps = 3
    @Option(help: "Untimed warm-up steps.") var warmup = 1
    @Option(help: "OpenBLAS threads (default: its own choice, normally every core).") var blasThreads: Int?
    @Option(help: "A Python with torch and transformers: also run ops/bench/train_pytorch.py and report the ratio.")
    var comparePython: String?
    @Option(help: "The PyTorch twin script (run from the repository root by default).")
    var pytorchScript = "ops/bench/train_pytorch.py"
    @Flag(help: "Print JSON (the default output is JSON as well).") var json = false

    func run() async throws {
        var benchmark = TrainingThroughputBenchmark()
        if let size = TrainingThroughputBenchmark.ModelSize(rawValue: config.rawValue) { benchmark.sizes = [size] }
        benchmark.batch = batch
        benchmark.sequenceLength = sequenceLength
        benchmark.steps = steps
        benchmark.warmup = warmup
        benchmark.blasThreads = blasThreads
        benchmark.pytorch = comparePython.map { .init(python: $0, script: pytorchScript) }
        try printJSON(try await benchmark.run())
    }
}
