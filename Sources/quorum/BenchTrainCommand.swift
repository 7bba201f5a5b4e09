import ArgumentParser
import Foundation
import QuorumModel
import QuorumTensor

/// `quorum bench train`: training throughput of the fp32 Llama core (forward, hand-written
/// backward, clipping, AdamW) on this machine, optionally beside PyTorch CPU running the same step.
struct BenchTrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training tokens/s of the Swift model (4-layer hidden-256 and ~20 M-parameter configs), as JSON.")

    @Option(help: "Which configuration: small (4 layers, hidden 256), medium (~20 M parameters) or all.")
    var config = "all"
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
        if let blasThreads { BLAS.setThreads(blasThreads) }
        let all: [(String, LlamaConfig)] = [("small", TrainingBenchmark.small), ("medium", TrainingBenchmark.medium)]
        let chosen = config == "all" ? all : all.filter { $0.0 == config }
        guard !chosen.isEmpty else {
            throw ValidationError("unknown --config \(config); use small, medium or all")
        }
        var report = TrainBenchReport(
            blasThreads: BLAS.threads, cores: ProcessInfo.processInfo.activeProcessorCount,
            gemmGFLOPs: TrainingBenchmark.gemmGFLOPs(m: batch * sequenceLength, n: 4 * 256, k: 256), results: [])
        for (name, shape) in chosen {
            let swift = try TrainingBenchmark.run(
                name: name, config: shape, batch: batch, sequenceLength: sequenceLength, steps: steps, warmup: warmup)
            var entry = TrainBenchReport.Entry(swift: swift)
            if let comparePython {
                entry.pytorch = try runPyTorch(python: comparePython, name: name)
                entry.ratio = entry.pytorch.map { swift.tokensPerSecond / $0.tokensPerSecond }
                entry.bestRatio = entry.pytorch.map { swift.bestTokensPerSecond / $0.bestTokensPerSecond }
            }
            report.results.append(entry)
        }
        try printJSON(report)
    }

    /// Runs the PyTorch twin of the benchmark with 2 threads and decodes its JSON.
    private func runPyTorch(python: String, name: String) throws -> TrainBenchReport.PyTorch? {
        let script = pytorchScript
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            script, "--threads", "2", "--config", name, "--batch", "\(batch)", "--seq", "\(sequenceLength)",
            "--steps", "\(steps)", "--warmup", "\(warmup)",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError(
                "\(script) failed (exit \(process.terminationStatus)); does \(python) have torch and transformers?")
        }
        return try JSONDecoder().decode([TrainBenchReport.PyTorch].self, from: data).first
    }
}

/// What `quorum bench train` prints.
private struct TrainBenchReport: Encodable {
    struct PyTorch: Codable {
        var tokensPerSecond: Double
        var bestTokensPerSecond: Double
        var secondsPerStep: Double
        var parameters: Int
        var threads: Int
        var torch: String
    }

    struct Entry: Encodable {
        var swift: TrainingBenchmark.Result
        var pytorch: PyTorch?
        /// Swift tokens/s over PyTorch tokens/s (mean step times).
        var ratio: Double?
        /// The same from each side's fastest step.
        var bestRatio: Double?
    }

    var blasThreads: Int
    var cores: Int
    /// fp32 GEMM GFLOP/s through OpenBLAS at the step's typical shape (tokens × 1024 × 256).
    var gemmGFLOPs: Double
    var results: [Entry]
}
