import ArgumentParser
import QuorumBench

/// `quorum bench quant`: ``QuantKernelBenchmark``.
struct BenchQuantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quant",
        abstract:
            "Quantized linear-layer kernels: µs per call, GFLOP/s, weight bytes, ratio to fp32; zero skipping. JSON."
    )

    @Option(help: "Comma-separated OUTxIN weight shapes.") var shapes = "512x1536,1536x512"
    @Option(help: "Comma-separated token counts per call.") var tokens = "1,8"
    @Option(
        help: """
            Comma-separated formats (fp32, bf16, w8a8, w8a8-fp, w4a16, ternary-int8, ternary-int4, \
            ternary-top50-int8) or all.
            """)
    var formats = "all"
    @Option(help: "Comma-separated zero fractions for the zero-skipping comparison.") var sparsity = "0.5,0.85"
    @Option(help: "Threads per call (the kernels' thread pool, over output rows; 1: calling thread only).")
    var threads = 2
    @Option(help: "Seconds of timing per measurement (best of 25 batches).") var seconds = 0.25
    @Flag(help: "Print JSON (the default output is JSON as well).") var json = false

    func run() async throws {
        var benchmark = QuantKernelBenchmark()
        benchmark.shapes = try QuantKernelBenchmark.Shape.list(parsing: shapes)
        benchmark.tokenCounts = try QuantKernelBenchmark.tokenCounts(parsing: tokens)
        benchmark.formats = try QuantKernelBenchmark.formats(parsing: formats)
        benchmark.zeroFractions = try QuantKernelBenchmark.zeroFractions(parsing: sparsity)
        benchmark.threads = threads
        benchmark.secondsPerMeasurement = seconds
        try printJSON(try await benchmark.run())
    }
}
