import ArgumentParser
import QuorumBench
import QuorumServing

/// `quorum bench sample`: ``SamplingBenchmark``.
struct BenchSampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: """
            Sampling speed per serving format: tokens/s single-stream and k per prompt, weight bytes, bandwidth \
            bound.
            """,
        discussion: """
            Decode tokens/s is (tokens(N) − tokens(1)) / (time(N) − time(1)) of the real sampler (temperature \
            0.7, top-p 0.9, no EOS), so the prompt's prefill is excluded as in llama-bench's tg and \
            llama-batched-bench's S_TG; end-to-end tokens/s (prefill included) is reported too. The bandwidth \
            bound is memory bandwidth / bytes read per step (block weights + fp32 LM head + norms); with k \
            sequences a step yields k tokens for one read of the weights.
            """)

    @Option(help: "Model folder (plain fp32 or quantized); default: a random 19.8 M-parameter SwiGLU llama.")
    var model: String?
    @Option(help: "Comma-separated formats, or all: \(ServingFormat.names).") var formats = "all"
    @Option(help: "Samples per prompt decoded together (shared prefix).") var k = 8
    @Option(help: "Prompt tokens.") var promptTokens = 32
    @Option(help: "Tokens generated per sequence.") var newTokens = 128
    @Option(help: "Threads per matrix product.") var threads = 2
    @Option(help: "Timed repetitions (best is kept).") var repeats = 3
    @Option(help: "Key/value cache: fp16 (default, as llama.cpp) or fp32.") var kvCache = KVPrecision.float16
    @Flag(help: "Print JSON (the default output is JSON as well).") var json = false

    func run() async throws {
        var benchmark = SamplingBenchmark()
        benchmark.modelDirectory = model
        benchmark.formats = try SamplingBenchmark.formats(parsing: formats)
        benchmark.k = k
        benchmark.promptTokens = promptTokens
        benchmark.newTokens = newTokens
        benchmark.threads = threads
        benchmark.repeats = repeats
        benchmark.keyValuePrecision = kvCache
        try printJSON(try await benchmark.run())
    }
}
