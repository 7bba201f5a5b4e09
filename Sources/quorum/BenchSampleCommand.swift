import ArgumentParser
import Foundation
import QuorumModel
import QuorumServing
import QuorumTensor
import QuorumCore

/// `quorum bench sample`: decoding speed of every serving format, single-stream and k samples of one
/// prompt (shared prefix, one batch), beside the machine's memory bandwidth measured in the same run.
struct BenchSampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract:
            "Sampling speed per serving format: tokens/s single-stream and k per prompt, weight bytes, bandwidth bound.",
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
    @Option(help: "Key/value cache: fp16 (default, as llama.cpp) or fp32.") var kvCache = "fp16"
    @Flag(help: "Print JSON (the default output is JSON as well).") var json = false

    func validate() throws {
        guard KVPrecision(rawValue: kvCache) != nil else {
            throw ValidationError("unknown --kv-cache \"\(kvCache)\": use fp16 or fp32")
        }
        guard k > 0, promptTokens > 0, newTokens > 1, threads > 0, repeats > 0 else {
            throw ValidationError(
                "--k, --prompt-tokens, --threads and --repeats must be positive; --new-tokens above 1")
        }
    }

    func run() async throws {
        let options = self
        let report = try await runOnThread { try options.measure() }
        try printJSON(report)
    }

    func measure() throws -> SampleBenchReport {
        let loadBefore = Self.loadAverage()
        let chosen: [ServingFormat] =
            formats == "all"
            ? ServingFormat.allCases
            : try formats.split(separator: ",").map { try ServingFormat.named(String($0)) }
        let fp32: LlamaModel<Float>?
        var quantizedFolder: ServingModel?
        if let model {
            if try ServingWeights.quantization(directory: model) != nil {
                quantizedFolder = try ServingModel.load(directory: model)
                fp32 = nil
            } else {
                fp32 = try LlamaModel<Float>.load(directory: model)
            }
        } else {
            let config = LlamaConfig(
                hiddenSize: 512, intermediateSize: 1408, numAttentionHeads: 8, numKeyValueHeads: 8, numHiddenLayers: 6,
                vocabSize: 1024, tieWordEmbeddings: true, maxPositionEmbeddings: 512, bosTokenId: 1021,
                eosTokenId: 1022)
            fp32 = try LlamaModel<Float>(config: config, seed: 20)
        }
        let config = fp32?.config ?? quantizedFolder!.config
        guard promptTokens + newTokens <= config.maxPositionEmbeddings else {
            throw ValidationError(
                "--prompt-tokens + --new-tokens must fit the context (\(config.maxPositionEmbeddings) positions)")
        }
        let bandwidth = Self.memoryBandwidth(threads: threads)
        var rng = SplitMix64(seed: 1)
        let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(config.vocabSize)) }
        var results: [SampleBenchReport.Result] = []
        let runs: [ServingModel] =
            if let quantizedFolder { [quantizedFolder] } else {
                try chosen.map { try ServingModel(model: fp32!, format: $0) }
            }
        for serving in runs {
            serving.threads = threads
            serving.keyValuePrecision = KVPrecision(rawValue: kvCache)!
            let single = decodeRate(serving, prompt: prompt, samples: 1)
            let batched = decodeRate(serving, prompt: prompt, samples: k)
            let bytes = serving.weightBytesPerStep
            let boundSingle = bandwidth.dram / Double(bytes)
            results.append(
                .init(
                    format: serving.format.rawValue, weightBytesPerStep: bytes, linearWeightBytes: serving.linearBytes,
                    singleStream: single, kSamples: batched,
                    bandwidthBoundTokensPerSecond: boundSingle,
                    fractionOfBandwidthBoundSingle: single.decodeTokensPerSecond / boundSingle,
                    fractionOfBandwidthBoundK: batched.decodeTokensPerSecond / (boundSingle * Double(k))))
        }
        let parameters =
            config.vocabSize * config.hiddenSize * (config.tieWordEmbeddings ? 1 : 2)
            + config.numHiddenLayers
            * (2 * config.hiddenSize + config.hiddenSize * (config.queryDim + 2 * config.keyValueDim)
                + config.queryDim * config.hiddenSize + 3 * config.hiddenSize * config.intermediateSize)
            + config.hiddenSize
        return SampleBenchReport(
            model: model ?? "random (bench-20m shape, seed 20)", parameters: parameters,
            hiddenSize: config.hiddenSize, layers: config.numHiddenLayers, intermediateSize: config.intermediateSize,
            vocabSize: config.vocabSize, k: k, promptTokens: promptTokens, newTokens: newTokens, threads: threads,
            kvCache: kvCache, cores: ProcessInfo.processInfo.activeProcessorCount, simd: true,
            memoryBandwidthGBps: bandwidth.dram / 1e9, cacheBandwidthGBps: bandwidth.cache / 1e9,
            loadAverageBefore: loadBefore, loadAverageAfter: Self.loadAverage(), results: results)
    }

    /// Decode and end-to-end tokens/s of `samples` sequences continuing `prompt` together.
    func decodeRate(_ serving: ServingModel, prompt: [Int], samples: Int) -> SampleBenchReport.Rate {
        func once(_ newTokens: Int) -> (tokens: Int, seconds: Double, cpu: Double) {
            let parameters = SamplingParameters(temperature: 0.7, topP: 0.9, maxNewTokens: newTokens, seed: 3)
            let cpuStart = Self.cpuSeconds()
            let start = ContinuousClock.now
            let out = serving.generate(
                prompts: Array(repeating: prompt, count: samples), parameters: parameters,
                streams: (0..<UInt64(samples)).map { $0 }, eosTokenId: -1, maxBatchSize: samples,
                stop: { _, _ in false })
            return (out.reduce(0) { $0 + $1.tokens.count }, elapsed(since: start), Self.cpuSeconds() - cpuStart)
        }
        _ = once(8)  // warm up
        var best = (tokens: 0, seconds: Double.infinity, cpu: 0.0)
        var bestShort = (tokens: 0, seconds: Double.infinity, cpu: 0.0)
        for _ in 0..<repeats {
            let full = once(newTokens)
            if full.seconds < best.seconds { best = full }
            let short = once(1)
            if short.seconds < bestShort.seconds { bestShort = short }
        }
        let decode = Double(best.tokens - bestShort.tokens) / max(best.seconds - bestShort.seconds, 1e-9)
        let decodeCPU = Double(best.tokens - bestShort.tokens) / max(best.cpu - bestShort.cpu, 1e-9)
        return .init(
            sequences: samples, tokens: best.tokens, seconds: best.seconds, decodeTokensPerSecond: decode,
            endToEndTokensPerSecond: Double(best.tokens) / best.seconds, prefillSeconds: bestShort.seconds,
            decodeCPUSeconds: best.cpu - bestShort.cpu,
            decodeTokensPerCPUSecondTimesThreads: decodeCPU * Double(threads))
    }

    /// User + system CPU seconds of this process (all threads).
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
    }

    /// Read bandwidth in bytes/s: summing a 512 MiB buffer (DRAM) and an 8 MiB one (cache-resident), `threads`
    /// threads, best of several passes.
    static func memoryBandwidth(threads: Int) -> (dram: Double, cache: Double) {
        func rate(bytes: Int, passes: Int) -> Double {
            let count = bytes / 4
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { buffer.deallocate() }
            for i in 0..<count { buffer[i] = Float(i & 1023) }
            var best = Double.infinity
            var sink: Float = 0
            for _ in 0..<passes {
                let start = ContinuousClock.now
                var sums = [Float](repeating: 0, count: threads)
                sums.withUnsafeMutableBufferPointer { sums in
                    parallelFor(threads) { t in
                        let lo = count / threads * t
                        let hi = t == threads - 1 ? count : count / threads * (t + 1)
                        sums[t] = Self.streamSum(buffer + lo, count: hi - lo)
                    }
                }
                best = min(best, elapsed(since: start))
                sink += sums.reduce(0, +)
            }
            if sink == -1 { print("") }  // keep the sums alive
            return Double(bytes) / best
        }
        return (rate(bytes: 512 << 20, passes: 5), rate(bytes: 8 << 20, passes: 50))
    }

    /// Σ x with four independent SIMD accumulators (a plain read stream, not latency-bound).
    static func streamSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var a0 = SIMD8<Float>(repeating: 0)
        var a1 = a0
        var a2 = a0
        var a3 = a0
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 32 <= count {
            a0 += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            a1 += raw.loadUnaligned(fromByteOffset: 4 * (i + 8), as: SIMD8<Float>.self)
            a2 += raw.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD8<Float>.self)
            a3 += raw.loadUnaligned(fromByteOffset: 4 * (i + 24), as: SIMD8<Float>.self)
            i += 32
        }
        var total = ((a0 + a1) + (a2 + a3)).sum()
        while i < count {
            total += x[i]
            i += 1
        }
        return total
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(
            separator: " ") ?? "unknown"
    }

    /// Runs blocking work on its own thread (not Swift's cooperative pool).
    func runOnThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}

/// What `quorum bench sample` prints.
struct SampleBenchReport: Encodable, Sendable {
    struct Rate: Encodable, Sendable {
        var sequences: Int
        var tokens: Int
        var seconds: Double
        var decodeTokensPerSecond: Double
        var endToEndTokensPerSecond: Double
        var prefillSeconds: Double
        /// CPU seconds the decode part used (all threads).
        var decodeCPUSeconds: Double
        /// Decode tokens per CPU-second × threads: what the wall-clock rate would be with every thread
        /// on a core of its own (a load-independent estimate on a shared machine).
        var decodeTokensPerCPUSecondTimesThreads: Double

        enum CodingKeys: String, CodingKey {
            case sequences, tokens, seconds, decodeTokensPerSecond = "decode_tokens_per_second"
            case endToEndTokensPerSecond = "end_to_end_tokens_per_second", prefillSeconds =
                "prefill_and_first_token_seconds"
            case decodeCPUSeconds = "decode_cpu_seconds"
            case decodeTokensPerCPUSecondTimesThreads = "decode_tokens_per_cpu_second_times_threads"
        }
    }

    struct Result: Encodable, Sendable {
        var format: String
        var weightBytesPerStep: Int
        var linearWeightBytes: Int
        var singleStream: Rate
        var kSamples: Rate
        var bandwidthBoundTokensPerSecond: Double
        var fractionOfBandwidthBoundSingle: Double
        var fractionOfBandwidthBoundK: Double

        enum CodingKeys: String, CodingKey {
            case format, weightBytesPerStep = "weight_bytes_per_step", linearWeightBytes = "linear_weight_bytes"
            case singleStream = "single_stream", kSamples = "k_samples"
            case bandwidthBoundTokensPerSecond = "bandwidth_bound_single_tokens_per_second"
            case fractionOfBandwidthBoundSingle = "fraction_of_bandwidth_bound_single"
            case fractionOfBandwidthBoundK = "fraction_of_bandwidth_bound_k"
        }
    }

    var model: String
    var parameters: Int
    var hiddenSize: Int
    var layers: Int
    var intermediateSize: Int
    var vocabSize: Int
    var k: Int
    var promptTokens: Int
    var newTokens: Int
    var threads: Int
    /// How the key/value cache stores its elements: fp16 or fp32.
    var kvCache: String
    var cores: Int
    var simd: Bool
    var memoryBandwidthGBps: Double
    var cacheBandwidthGBps: Double
    var loadAverageBefore: String
    var loadAverageAfter: String
    var results: [Result]

    enum CodingKeys: String, CodingKey {
        case model, parameters, hiddenSize = "hidden_size", layers, intermediateSize = "intermediate_size"
        case vocabSize = "vocab_size", k, promptTokens = "prompt_tokens", newTokens = "new_tokens", threads
        case kvCache = "kv_cache", cores, simd
        case memoryBandwidthGBps = "memory_bandwidth_gb_per_s", cacheBandwidthGBps = "cache_bandwidth_gb_per_s"
        case loadAverageBefore = "load_average_before", loadAverageAfter = "load_average_after", results
    }
}
