import Foundation
public import QuorumModel
import QuorumTensor
import QuorumTraining
import QuorumCore

/// Training tokens/s of the fp32 Llama core (forward, hand-written backward, clipping, AdamW) on this
/// machine (``TrainingBenchmark``), optionally beside PyTorch CPU running the same step
/// (`ops/bench/train_pytorch.py`).
public struct TrainingThroughputBenchmark: Sendable {
    /// A model shape to measure.
    public enum ModelSize: String, CaseIterable, Sendable {
        /// 4 layers, hidden 256 (``TrainingBenchmark/small``).
        case small
        /// ≈ 20 M parameters (``TrainingBenchmark/medium``).
        case medium

        /// The model's shape.
        public var config: LlamaConfig {
            switch self {
            case .small: TrainingBenchmark.small
            case .medium: TrainingBenchmark.medium
            }
        }
    }

    /// The PyTorch twin of the benchmark: a Python with torch and transformers, and the script.
    public struct PyTorchTwin: Sendable {
        /// The Python interpreter.
        public var python: String
        /// The script, `ops/bench/train_pytorch.py` from the repository root by default.
        public var script: String
        /// Threads PyTorch may use.
        public var threads = 2

        /// A twin run by `python`.
        public init(python: String, script: String = "ops/bench/train_pytorch.py") {
            self.python = python
            self.script = script
        }
    }

    /// The shapes to measure, in order.
    public var sizes: [ModelSize] = ModelSize.allCases
    /// Sequences per step.
    public var batch = 8
    /// Tokens per sequence.
    public var sequenceLength = 128
    /// Timed steps per shape.
    public var steps = 3
    /// Untimed warm-up steps.
    public var warmup = 1
    /// OpenBLAS threads; nil leaves OpenBLAS's own choice (normally every core).
    public var blasThreads: Int?
    /// Also run PyTorch and report the ratio.
    public var pytorch: PyTorchTwin?

    /// A benchmark with the default sizes.
    public init() {}

    /// What the benchmark measured.
    public struct Report: Encodable, Sendable {
        /// What the PyTorch twin printed for one shape.
        public struct PyTorch: Codable, Sendable {
            /// Trained tokens per second (mean step time).
            public var tokensPerSecond: Double
            /// Trained tokens per second of the fastest step.
            public var bestTokensPerSecond: Double
            /// Mean seconds per step.
            public var secondsPerStep: Double
            /// Parameters of the PyTorch model.
            public var parameters: Int
            /// Threads PyTorch used.
            public var threads: Int
            /// The torch version.
            public var torch: String
        }

        /// One shape's results.
        public struct Entry: Encodable, Sendable {
            /// The Swift measurement.
            public var swift: TrainingBenchmark.Result
            /// PyTorch's, when asked for.
            public var pytorch: PyTorch?
            /// Swift tokens/s over PyTorch tokens/s (mean step times).
            public var ratio: Double?
            /// The same from each side's fastest step.
            public var bestRatio: Double?
        }

        /// OpenBLAS threads in use.
        public var blasThreads: Int
        /// Active processors.
        public var cores: Int
        /// fp32 GEMM GFLOP/s through OpenBLAS at the step's typical shape (tokens × 1024 × 256).
        public var gemmGFLOPs: Double
        /// One entry per shape, in order.
        public var results: [Entry]
    }

    /// Measures every shape (on a thread of its own), then PyTorch's twin of each when asked for.
    public func run() async throws -> Report {
        guard batch > 0, sequenceLength > 0, steps > 0, warmup >= 0, blasThreads.map({ $0 > 0 }) ?? true else {
            throw BenchError("batch, sequence length, steps and BLAS threads must be at least 1, warm-up 0 or more")
        }
        let context = sizes.map(\.config.maxPositionEmbeddings).min() ?? .max
        guard sequenceLength <= context else {
            throw BenchError("a sequence of \(sequenceLength) tokens does not fit the \(context)-position context")
        }
        let benchmark = self
        return try await runOnDedicatedThread { try benchmark.measure() }
    }

    private func measure() throws -> Report {
        if let blasThreads { BLAS.setThreads(blasThreads) }
        var report = Report(
            blasThreads: BLAS.threads, cores: ProcessInfo.processInfo.activeProcessorCount,
            gemmGFLOPs: TrainingBenchmark.gemmGFLOPs(m: batch * sequenceLength, n: 4 * 256, k: 256), results: [])
        for size in sizes {
            let swift = try TrainingBenchmark.run(
                name: size.rawValue, config: size.config, batch: batch, sequenceLength: sequenceLength, steps: steps,
                warmup: warmup)
            var entry = Report.Entry(swift: swift)
            if let pytorch {
                entry.pytorch = try run(pytorch, size: size)
                entry.ratio = entry.pytorch.map { swift.tokensPerSecond / $0.tokensPerSecond }
                entry.bestRatio = entry.pytorch.map { swift.bestTokensPerSecond / $0.bestTokensPerSecond }
            }
            report.results.append(entry)
        }
        return report
    }

    /// Runs the PyTorch twin on one shape and decodes its JSON.
    private func run(_ twin: PyTorchTwin, size: ModelSize) throws -> Report.PyTorch? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: twin.python)
        process.arguments = [
            twin.script, "--threads", "\(twin.threads)", "--config", size.rawValue, "--batch", "\(batch)", "--seq",
            "\(sequenceLength)", "--steps", "\(steps)", "--warmup", "\(warmup)",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw BenchError("cannot start \(twin.python): \(error.localizedDescription); pass a Python executable")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError(
                "\(twin.script) failed (exit \(process.terminationStatus)); does \(twin.python) have torch and "
                    + "transformers?")
        }
        do {
            return try JSONDecoder().decode([Report.PyTorch].self, from: data).first
        } catch {
            throw BenchError("\(twin.script) printed no JSON list of results this version can read: \(error)")
        }
    }
}
