import Dispatch
import QuorumTensor
import QuorumCore

/// Measures full training steps (forward, backward, clipping, AdamW) on random tokens, for
/// `quorum bench train` and for comparison with PyTorch (`ops/bench/train_pytorch.py`).
public enum TrainingBenchmark {
    /// One configuration's measurement.
    public struct Result: Sendable, Codable {
        /// A label for the configuration.
        public var name: String
        /// The model's shape.
        public var config: LlamaConfig
        /// Parameters (tied head counted once).
        public var parameters: Int
        /// Sequences per step.
        public var batch: Int
        /// Tokens per sequence.
        public var sequenceLength: Int
        /// Timed steps.
        public var steps: Int
        /// Mean seconds per training step.
        public var secondsPerStep: Double
        /// Trained tokens per second (from the mean step time).
        public var tokensPerSecond: Double
        /// Trained tokens per second of the fastest step (less sensitive to a busy machine).
        public var bestTokensPerSecond: Double
        /// Model FLOP/s counted as 6·parameters·tokens (matrix work only), in GFLOP/s.
        public var modelGFLOPs: Double
        /// Loss at the first and last timed step (random tokens: stays near ln(vocab)).
        public var firstLoss: Double
        /// See ``firstLoss``.
        public var lastLoss: Double
    }

    /// The 4-layer, hidden-256 model (≈ 5.5 M parameters with a tied 8192-token vocabulary).
    public static let small = LlamaConfig(
        hiddenSize: 256, intermediateSize: 768, numAttentionHeads: 4, numKeyValueHeads: 4, numHiddenLayers: 4,
        vocabSize: 8192, tieWordEmbeddings: true, maxPositionEmbeddings: 512)

    /// A ≈ 20 M-parameter model (5 layers, hidden 512, tied 8192-token vocabulary).
    public static let medium = LlamaConfig(
        hiddenSize: 512, intermediateSize: 1408, numAttentionHeads: 8, numKeyValueHeads: 8, numHiddenLayers: 5,
        vocabSize: 8192, tieWordEmbeddings: true, maxPositionEmbeddings: 512)

    /// Runs `warmup` untimed and `steps` timed training steps of `batch × sequenceLength` random tokens.
    public static func run(
        name: String, config: LlamaConfig, batch: Int = 8, sequenceLength: Int = 128, steps: Int = 5, warmup: Int = 1,
        seed: UInt64 = 1
    ) throws -> Result {
        let model = try LlamaModel<Float>(config: config, seed: seed)
        let optimizer = AdamW(model: model)
        var rng = SplitMix64(seed: seed &+ 1)
        let sequences = (0..<batch).map { _ in
            (0..<sequenceLength).map { _ in Int(rng.next() % UInt64(config.vocabSize)) }
        }
        let tokenBatch = TokenBatch(sequences: sequences)
        var losses: [Double] = []
        var elapsed: UInt64 = 0
        var fastest = UInt64.max
        for step in 0..<(warmup + steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            model.zeroGradients()
            let loss = model.backwardCrossEntropy(model.forward(tokenBatch))
            model.clipGradients(maxNorm: 1)
            optimizer.update(model, lr: 1e-4)
            let end = DispatchTime.now().uptimeNanoseconds
            if step >= warmup {
                elapsed += end - start
                fastest = min(fastest, end - start)
                losses.append(Double(loss))
            }
        }
        let seconds = Double(elapsed) / 1e9 / Double(steps)
        let tokens = Double(batch * sequenceLength)
        return Result(
            name: name, config: config, parameters: model.parameterCount, batch: batch,
            sequenceLength: sequenceLength, steps: steps, secondsPerStep: seconds, tokensPerSecond: tokens / seconds,
            bestTokensPerSecond: tokens / (Double(fastest) / 1e9),
            modelGFLOPs: 6 * Double(model.parameterCount) * tokens / seconds / 1e9, firstLoss: losses.first ?? 0,
            lastLoss: losses.last ?? 0)
    }

    /// GFLOP/s of one `m × k` by `k × n` fp32 GEMM through OpenBLAS, best of `repeats`.
    public static func gemmGFLOPs(m: Int, n: Int, k: Int, repeats: Int = 5) -> Double {
        let a = Buffer<Float>(count: m * k)
        let b = Buffer<Float>(count: k * n)
        let c = Buffer<Float>(count: m * n)
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.1 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.1 }
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            gemm(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}
