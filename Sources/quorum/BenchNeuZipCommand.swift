import ArgumentParser
import Foundation
import QuorumBench

/// `quorum bench neuzip`: ``NeuZipBenchmark``, as JSON or one line per result.
struct BenchNeuZipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neuzip",
        abstract: "Benchmark NeuZip: ratio vs. exponent-entropy bound vs. zstd -19, MB/s per core, lossy ratios.",
        discussion: """
            Reads the float tensors of any .safetensors file (--in) and measures them as bf16 and as fp32 \
            (converting with round-to-nearest-even where needed). Without --in it synthesises Gaussian \
            weights and says so. MB/s counts uncompressed bytes (10^6) per second on one core.
            """)

    @Option(name: .customLong("in"), help: "A .safetensors file with trained weights.")
    var input: String?

    @Option(help: "Values to synthesise when --in is absent.")
    var syntheticCount = 1 << 23

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Skip the zstd comparison.")
    var noZstd = false

    @Flag(help: "Skip the lossy sweep.")
    var noLossy = false

    func run() async throws {
        var benchmark = NeuZipBenchmark()
        benchmark.inputPath = input
        benchmark.syntheticCount = syntheticCount
        benchmark.zstd = !noZstd
        benchmark.lossySweep = !noLossy
        benchmark.progress = { log($0) }
        let report = try await benchmark.run()
        if json {
            try printJSON(report)
            return
        }
        for (label, r) in [("bf16", report.bf16), ("fp32", report.fp32)] {
            print(
                String(
                    format: "%@: ratio %.4f×, entropy bound %.4f× (%.2f %% of it), H(exp) %.3f bits, "
                        + "encode %.0f MB/s, decode %.0f MB/s per core",
                    label, r.ratio, r.boundRatio, 100 * r.ratioOverBound, r.exponentEntropyBits, r.encodeMBps,
                    r.decodeMBps)
                    + (r.zstd19Ratio.map { String(format: ", zstd -19 %.4f×", $0) } ?? ""))
        }
        for l in report.lossy {
            print(
                String(
                    format: "lossy bf16 k=%d block=%d: %.3f×, max relative error %.3g", l.keptBits, l.blockSize,
                    l.ratio, l.maxRelativeError))
        }
    }
}
