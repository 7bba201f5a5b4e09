// Compiled once the manifest wires QuorumQuant (and with it its C kernels) into this target; until
// then the file is empty, so the rest of the tool keeps building.
#if canImport(CQuantKernels)
    import ArgumentParser
    import Foundation
    import QuorumQuant

    /// `quorum bench quant`: speed of each quantized format's linear layer (quantize activations + matmul)
    /// on typical projection shapes, single-token and batched, beside this package's own fp32 SIMD
    /// kernel; and what skipping zero activations gains at a4.8's sparsity levels.
    struct BenchQuantCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "quant",
            abstract:
                "Quantized linear-layer kernels: µs per call, GFLOP/s, weight bytes, ratio to fp32; zero skipping. JSON."
        )

        @Option(help: "Comma-separated OUTxIN weight shapes.") var shapes = "512x1536,1536x512"
        @Option(help: "Comma-separated token counts per call.") var tokens = "1,8"
        @Option(
            help:
                "Comma-separated formats (fp32, bf16, w8a8, w8a8-fp, w4a16, ternary-int8, ternary-int4, ternary-top50-int8) or all."
        )
        var formats = "all"
        @Option(help: "Comma-separated zero fractions for the zero-skipping comparison.") var sparsity = "0.5,0.85"
        @Option(help: "Threads per call (the kernels' thread pool, over output rows; 1: calling thread only).")
        var threads = 2
        @Option(help: "Seconds of timing per measurement (best of 25 batches).") var seconds = 0.25
        @Flag(help: "Print JSON (the default output is JSON as well).") var json = false

        func run() async throws {
            let shapeList = try shapes.split(separator: ",").map { item -> (out: Int, in: Int) in
                let parts = item.split(separator: "x").compactMap { Int($0) }
                guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else {
                    throw ValidationError("bad shape '\(item)': use OUTxIN, e.g. 512x1536")
                }
                return (parts[0], parts[1])
            }
            let tokenList = tokens.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
            let chosen =
                formats == "all"
                ? QuantFormat.all
                : try formats.split(separator: ",").map { name in
                    guard let format = QuantFormat(name: String(name)) else {
                        throw ValidationError(
                            "unknown format '\(name)'; known: \(QuantFormat.all.map(\.name).joined(separator: ", "))")
                    }
                    return format
                }
            let zeroFractions = sparsity.split(separator: ",").compactMap { Double($0) }
            var report = QuantBenchReport(
                loadAverageBefore: Self.loadAverage(), simd: Kernels.simdEnabled, threads: threads,
                cores: ProcessInfo.processInfo.activeProcessorCount, results: [], zeroSkipping: [], loadAverageAfter: ""
            )
            var rng = SystemRandomNumberGenerator()

            for shape in shapeList {
                let weights = Self.gaussian(shape.out * shape.in, scale: 0.02, using: &rng)
                let layers = chosen.map {
                    QuantizedLinear(weights: weights, outFeatures: shape.out, inFeatures: shape.in, format: $0)
                }
                for tokenCount in tokenList {
                    let x = Self.gaussian(tokenCount * shape.in, scale: 1, using: &rng)
                    let exact = Self.matmul(weights, x, out: shape.out, in: shape.in)
                    let flops = 2.0 * Double(tokenCount * shape.out * shape.in)
                    var fp32Micros: Double?
                    for layer in layers {
                        var y = [Float](repeating: 0, count: tokenCount * shape.out)
                        let micros = measure(seconds: seconds) { layer.forward(x: x, into: &y, threads: threads) }
                        if layer.format == .fp32 { fp32Micros = micros }
                        report.results.append(
                            .init(
                                format: layer.format.name, outFeatures: shape.out, inFeatures: shape.in,
                                tokens: tokenCount,
                                microsecondsPerCall: micros, gflops: flops / micros / 1e3,
                                weightBytes: layer.weightBytes,
                                bitsPerWeight: Double(layer.weightBytes * 8) / Double(shape.out * shape.in),
                                speedupVsFP32: fp32Micros.map { $0 / micros },
                                relativeErrorVsFP32: Self.relativeError(y, exact)))
                    }
                }
                // Zero skipping: the same ternary / int8 layer, dense row kernel vs column-major sparse kernel.
                for format in [QuantFormat.ternary(.int8Absmax), .w8a8Int] where chosen.contains(format) {
                    var sparse = QuantizedLinear(
                        weights: weights, outFeatures: shape.out, inFeatures: shape.in, format: format,
                        zeroSkipping: true)
                    (sparse.sparseDensityThreshold, sparse.batchedSparseDensityThreshold) = (1, 1)
                    let dense = QuantizedLinear(
                        weights: weights, outFeatures: shape.out, inFeatures: shape.in, format: format)
                    for zeroFraction in zeroFractions {
                        for tokenCount in tokenList {
                            var x = Self.gaussian(tokenCount * shape.in, scale: 1, using: &rng)
                            for i in x.indices where Double.random(in: 0..<1, using: &rng) < zeroFraction { x[i] = 0 }
                            var y = [Float](repeating: 0, count: tokenCount * shape.out)
                            let denseMicros = measure(seconds: seconds) {
                                dense.forward(x: x, into: &y, threads: threads)
                            }
                            let sparseMicros = measure(seconds: seconds) {
                                sparse.forward(x: x, into: &y, threads: threads)
                            }
                            report.zeroSkipping.append(
                                .init(
                                    format: format.name, outFeatures: shape.out, inFeatures: shape.in,
                                    tokens: tokenCount,
                                    zeroFraction: zeroFraction, denseMicroseconds: denseMicros,
                                    skippingMicroseconds: sparseMicros,
                                    speedup: denseMicros / sparseMicros, extraBytes: sparse.columnMajor?.byteCount ?? 0)
                            )
                        }
                    }
                }
            }
            report.loadAverageAfter = Self.loadAverage()
            try printJSON(report)
        }

        /// Best-of-25 microseconds per call, each batch running about `seconds / 25`: the minimum over
        /// many short batches filters out time slices lost to other processes on a shared machine.
        private func measure(seconds: Double, _ body: () -> Void) -> Double {
            for _ in 0..<3 { body() }
            let probe = ContinuousClock.now
            body()
            let once = max(elapsed(since: probe), 1e-7)
            let calls = max(1, Int(seconds / 25 / once))
            var best = Double.infinity
            for _ in 0..<25 {
                let start = ContinuousClock.now
                for _ in 0..<calls { body() }
                best = min(best, elapsed(since: start) / Double(calls))
            }
            return best * 1e6
        }

        private static func gaussian(_ count: Int, scale: Float, using rng: inout some RandomNumberGenerator) -> [Float]
        {
            (0..<count).map { _ in
                let u = Float.random(in: Float.ulpOfOne..<1, using: &rng), v = Float.random(in: 0..<1, using: &rng)
                return (-2 * log(u)).squareRoot() * cos(2 * .pi * v) * scale
            }
        }

        private static func matmul(_ w: [Float], _ x: [Float], out: Int, in n: Int) -> [Double] {
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

        private static func relativeError(_ y: [Float], _ exact: [Double]) -> Double {
            var num = 0.0, den = 0.0
            for (a, b) in zip(y, exact) {
                num += (Double(a) - b) * (Double(a) - b)
                den += b * b
            }
            return (num / max(den, 1e-30)).squareRoot()
        }

        private static func loadAverage() -> String {
            ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "unknown")
                .split(separator: " ").prefix(3).joined(separator: " ")
        }
    }

    private struct QuantBenchReport: Encodable {
        struct Result: Encodable {
            var format: String
            var outFeatures: Int
            var inFeatures: Int
            var tokens: Int
            var microsecondsPerCall: Double
            var gflops: Double
            var weightBytes: Int
            var bitsPerWeight: Double
            var speedupVsFP32: Double?
            var relativeErrorVsFP32: Double
        }

        struct ZeroSkipping: Encodable {
            var format: String
            var outFeatures: Int
            var inFeatures: Int
            var tokens: Int
            var zeroFraction: Double
            var denseMicroseconds: Double
            var skippingMicroseconds: Double
            var speedup: Double
            var extraBytes: Int
        }

        var loadAverageBefore: String
        var simd: Bool
        var threads: Int
        var cores: Int
        var results: [Result]
        var zeroSkipping: [ZeroSkipping]
        var loadAverageAfter: String
    }
#endif
