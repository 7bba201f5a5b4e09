import Foundation
public import QuorumQuant
import QuorumTraining
import QuorumCore

/// Speed of each quantized format's linear layer (quantize activations + matmul) on projection shapes,
/// single-token and batched, beside this package's own fp32 SIMD kernel; and what skipping zero
/// activations gains at a4.8's sparsity levels.
public struct QuantKernelBenchmark: Sendable {
    /// A weight matrix shape, written `OUTxIN` (e.g. `512x1536`).
    public struct Shape: Sendable, Hashable, CustomStringConvertible {
        /// Output features (rows).
        public var outFeatures: Int
        /// Input features (columns).
        public var inFeatures: Int

        /// A shape of `outFeatures × inFeatures`.
        public init(outFeatures: Int, inFeatures: Int) {
            self.outFeatures = outFeatures
            self.inFeatures = inFeatures
        }

        /// `OUTxIN`.
        public var description: String { "\(outFeatures)x\(inFeatures)" }

        /// Comma-separated `OUTxIN` shapes, e.g. `512x1536,1536x512`.
        public static func list(parsing text: String) throws(BenchError) -> [Shape] {
            let rule = "use comma-separated OUTxIN shapes, e.g. 512x1536,1536x512"
            return try parseList(text, what: "shape", rule: rule) { item in
                let parts = item.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
                guard parts.count == 2, let out = parts[0], let `in` = parts[1], out > 0, `in` > 0 else { return nil }
                return Shape(outFeatures: out, inFeatures: `in`)
            }
        }
    }

    /// Weight shapes.
    public var shapes = [Shape(outFeatures: 512, inFeatures: 1536), Shape(outFeatures: 1536, inFeatures: 512)]
    /// Tokens per call.
    public var tokenCounts = [1, 8]
    /// The formats to measure; zero skipping runs for ternary-int8 and w8a8 when they are among them.
    public var formats = QuantFormat.all
    /// Fractions of zero activations for the zero-skipping comparison.
    public var zeroFractions = [0.5, 0.85]
    /// Threads per call (the kernels' pool, over output rows; 1: the calling thread only).
    public var threads = 2
    /// Seconds of timing per measurement (best of 25 batches).
    public var secondsPerMeasurement = 0.25

    /// A benchmark with the default shapes and formats.
    public init() {}

    /// `all` or comma-separated format names (``QuantFormat/name``).
    public static func formats(parsing text: String) throws(BenchError) -> [QuantFormat] {
        if text == "all" { return QuantFormat.all }
        let rule = "use all or comma-separated names among \(QuantFormat.all.map(\.name).joined(separator: ", "))"
        return try parseList(text, what: "format", rule: rule) { QuantFormat(name: String($0)) }
    }

    /// Comma-separated token counts, each at least 1.
    public static func tokenCounts(parsing text: String) throws(BenchError) -> [Int] {
        try parseList(text, what: "token count", rule: "use comma-separated whole numbers of at least 1, e.g. 1,8") {
            Int($0).flatMap { $0 > 0 ? $0 : nil }
        }
    }

    /// Comma-separated fractions between 0 and 1; empty text: none (no zero-skipping comparison).
    public static func zeroFractions(parsing text: String) throws(BenchError) -> [Double] {
        if text.allSatisfy(\.isWhitespace) { return [] }
        let rule = "use comma-separated numbers from 0 to 1, e.g. 0.5,0.85"
        return try parseList(text, what: "zero fraction", rule: rule) {
            Double($0).flatMap { (0...1).contains($0) ? $0 : nil }
        }
    }

    /// What the benchmark measured.
    public struct Report: Encodable, Sendable {
        /// One format on one shape and token count.
        public struct Result: Encodable, Sendable {
            /// ``QuantFormat/name``.
            public var format: String
            /// Output features.
            public var outFeatures: Int
            /// Input features.
            public var inFeatures: Int
            /// Tokens per call.
            public var tokens: Int
            /// Best microseconds per call.
            public var microsecondsPerCall: Double
            /// 2 · tokens · out · in FLOPs per call, in GFLOP/s.
            public var gflops: Double
            /// Bytes of the packed weights.
            public var weightBytes: Int
            /// Weight bytes · 8 per weight.
            public var bitsPerWeight: Double
            /// fp32's microseconds over this format's (nil before fp32 was measured).
            public var speedupVsFP32: Double?
            /// ‖y − y_exact‖ / ‖y_exact‖ against a float64 matmul of the unquantized weights.
            public var relativeErrorVsFP32: Double
        }

        /// Dense row kernel against the column-major zero-skipping kernel, on the same layer.
        public struct ZeroSkipping: Encodable, Sendable {
            /// ``QuantFormat/name``.
            public var format: String
            /// Output features.
            public var outFeatures: Int
            /// Input features.
            public var inFeatures: Int
            /// Tokens per call.
            public var tokens: Int
            /// Fraction of activations set to zero.
            public var zeroFraction: Double
            /// Best microseconds per call of the dense kernel.
            public var denseMicroseconds: Double
            /// Best microseconds per call of the skipping kernel.
            public var skippingMicroseconds: Double
            /// Dense time over skipping time.
            public var speedup: Double
            /// Bytes of the column-major copy the skipping kernel needs.
            public var extraBytes: Int
        }

        /// The load averages before the run.
        public var loadAverageBefore: String
        /// Whether the C kernels were built with SIMD.
        public var simd: Bool
        /// Threads per call.
        public var threads: Int
        /// Active processors.
        public var cores: Int
        /// Per format, shape and token count.
        public var results: [Result]
        /// The zero-skipping comparison.
        public var zeroSkipping: [ZeroSkipping]
        /// The load averages after the run.
        public var loadAverageAfter: String
    }

    /// Measures every format on every shape and token count, then zero skipping (on a thread of its own).
    public func run() async throws -> Report {
        guard !shapes.isEmpty, !tokenCounts.isEmpty, tokenCounts.allSatisfy({ $0 > 0 }) else {
            throw BenchError("give at least one shape and one token count, each token count at least 1")
        }
        guard threads > 0, secondsPerMeasurement > 0 else {
            throw BenchError("threads and seconds per measurement must be positive")
        }
        let benchmark = self
        return try await runOnDedicatedThread { benchmark.measure() }
    }

    private func measure() -> Report {
        var report = Report(
            loadAverageBefore: LoadAverage.text(), simd: Kernels.simdEnabled, threads: threads,
            cores: ProcessInfo.processInfo.activeProcessorCount, results: [], zeroSkipping: [], loadAverageAfter: "")
        var rng = SystemRandomNumberGenerator()
        for shape in shapes {
            let (out, n) = (shape.outFeatures, shape.inFeatures)
            let weights = gaussianValues(out * n, scale: 0.02, using: &rng)
            let layers = formats.map { QuantizedLinear(weights: weights, outFeatures: out, inFeatures: n, format: $0) }
            for tokenCount in tokenCounts {
                let x = gaussianValues(tokenCount * n, scale: 1, using: &rng)
                let exact = Self.exactProduct(weights, x, out: out, in: n)
                let flops = 2.0 * Double(tokenCount * out * n)
                var fp32Micros: Double?
                for layer in layers {
                    var y = [Float](repeating: 0, count: tokenCount * out)
                    let micros = bestMicroseconds(seconds: secondsPerMeasurement) {
                        layer.forward(x: x, into: &y, threads: threads)
                    }
                    if layer.format == .fp32 { fp32Micros = micros }
                    report.results.append(
                        .init(
                            format: layer.format.name, outFeatures: out, inFeatures: n, tokens: tokenCount,
                            microsecondsPerCall: micros, gflops: flops / micros / 1e3, weightBytes: layer.weightBytes,
                            bitsPerWeight: Double(layer.weightBytes * 8) / Double(out * n),
                            speedupVsFP32: fp32Micros.map { $0 / micros },
                            relativeErrorVsFP32: Self.relativeError(y, exact)))
                }
            }
            // Zero skipping: the same ternary / int8 layer, dense row kernel vs column-major sparse kernel.
            for format in [QuantFormat.ternary(.int8Absmax), .w8a8Int] where formats.contains(format) {
                var sparse = QuantizedLinear(
                    weights: weights, outFeatures: out, inFeatures: n, format: format, zeroSkipping: true)
                (sparse.sparseDensityThreshold, sparse.batchedSparseDensityThreshold) = (1, 1)
                let dense = QuantizedLinear(weights: weights, outFeatures: out, inFeatures: n, format: format)
                for zeroFraction in zeroFractions {
                    for tokenCount in tokenCounts {
                        var x = gaussianValues(tokenCount * n, scale: 1, using: &rng)
                        for i in x.indices where Double.random(in: 0..<1, using: &rng) < zeroFraction { x[i] = 0 }
                        var y = [Float](repeating: 0, count: tokenCount * out)
                        let denseMicros = bestMicroseconds(seconds: secondsPerMeasurement) {
                            dense.forward(x: x, into: &y, threads: threads)
                        }
                        let sparseMicros = bestMicroseconds(seconds: secondsPerMeasurement) {
                            sparse.forward(x: x, into: &y, threads: threads)
                        }
                        report.zeroSkipping.append(
                            .init(
                                format: format.name, outFeatures: out, inFeatures: n, tokens: tokenCount,
                                zeroFraction: zeroFraction, denseMicroseconds: denseMicros,
                                skippingMicroseconds: sparseMicros, speedup: denseMicros / sparseMicros,
                                extraBytes: sparse.columnMajor?.byteCount ?? 0))
                    }
                }
            }
        }
        report.loadAverageAfter = LoadAverage.text()
        return report
    }

    /// `w · x` per token in float64: `w` is `out × n` row-major, `x` holds tokens of `n` values.
    static func exactProduct(_ w: [Float], _ x: [Float], out: Int, in n: Int) -> [Double] {
        let tokens = x.count / n
        var y = [Double](repeating: 0, count: tokens * out)
        for t in 0..<tokens {
            for r in 0..<out {
                var s = 0.0
                for i in 0..<n { s += Double(w[r * n + i]) * Double(x[t * n + i]) }
                y[t * out + r] = s
            }
        }
        return y
    }

    /// ‖y − exact‖ / ‖exact‖.
    static func relativeError(_ y: [Float], _ exact: [Double]) -> Double {
        var num = 0.0
        var den = 0.0
        for (a, b) in zip(y, exact) {
            num += (Double(a) - b) * (Double(a) - b)
            den += b * b
        }
        return (num / max(den, 1e-30)).squareRoot()
    }
}
