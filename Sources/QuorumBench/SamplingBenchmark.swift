import Foundation
import QuorumModel
public import QuorumServing
import QuorumTensor
import QuorumTraining
import QuorumCore

/// Decoding speed of every serving format, single-stream and k samples of one prompt (shared prefix,
/// one batch), beside the machine's memory bandwidth measured in the same run.
///
/// Decode tokens/s is (tokens(N) − tokens(1)) / (time(N) − time(1)) of the real sampler (temperature
/// 0.7, top-p 0.9, no EOS), so the prompt's prefill is excluded as in llama-bench's tg and
/// llama-batched-bench's S_TG; end-to-end tokens/s (prefill included) is reported too. The bandwidth
/// bound is memory bandwidth / bytes read per step (block weights + fp32 LM head + norms); with k
/// sequences a step yields k tokens for one read of the weights.
public struct SamplingBenchmark: Sendable {
    /// A model folder (plain fp32 or quantized); nil: a random 19.8 M-parameter SwiGLU Llama. A
    /// quantized folder is measured in its own format only.
    public var modelDirectory: String?
    /// The formats an fp32 model is served in, in order.
    public var formats = ServingFormat.allCases
    /// Samples per prompt decoded together (shared prefix).
    public var k = 8
    /// Prompt tokens.
    public var promptTokens = 32
    /// Tokens generated per sequence (at least 2: one is subtracted as the prefill's).
    public var newTokens = 128
    /// Threads per matrix product.
    public var threads = 2
    /// Timed repetitions (the best is kept).
    public var repeats = 3
    /// How the key/value cache stores its elements.
    public var keyValuePrecision = KVPrecision.float16

    /// A benchmark of the random model in every format.
    public init() {}

    /// `all` or comma-separated serving format names.
    public static func formats(parsing text: String) throws(BenchError) -> [ServingFormat] {
        if text == "all" { return ServingFormat.allCases }
        let rule = "use all or comma-separated names among \(ServingFormat.names)"
        return try parseList(text, what: "format", rule: rule) {
            ServingFormat(rawValue: String($0))
        }
    }

    /// What the benchmark measured (snake_case keys).
    public struct Report: Encodable, Sendable {
        /// Decode and end-to-end rates of some sequences continuing one prompt together.
        public struct Rate: Encodable, Sendable {
            /// Sequences decoded together.
            public var sequences: Int
            /// Tokens generated in the best full run.
            public var tokens: Int
            /// Seconds of the best full run.
            public var seconds: Double
            /// Tokens/s without the prefill.
            public var decodeTokensPerSecond: Double
            /// Tokens/s with the prefill.
            public var endToEndTokensPerSecond: Double
            /// Seconds of the best one-token run (prefill and first token).
            public var prefillSeconds: Double
            /// CPU seconds the decode part used (all threads).
            public var decodeCPUSeconds: Double
            /// Decode tokens per CPU-second × threads: what the wall-clock rate would be with every thread
            /// on a core of its own (a load-independent estimate on a shared machine).
            public var decodeTokensPerCPUSecondTimesThreads: Double

            enum CodingKeys: String, CodingKey {
                case sequences, tokens, seconds, decodeTokensPerSecond = "decode_tokens_per_second"
                case endToEndTokensPerSecond = "end_to_end_tokens_per_second"
                case prefillSeconds = "prefill_and_first_token_seconds"
                case decodeCPUSeconds = "decode_cpu_seconds"
                case decodeTokensPerCPUSecondTimesThreads = "decode_tokens_per_cpu_second_times_threads"
            }
        }

        /// One format's results.
        public struct Result: Encodable, Sendable {
            /// The serving format.
            public var format: String
            /// Bytes read per decoding step (block weights, fp32 LM head, norms).
            public var weightBytesPerStep: Int
            /// Bytes of the packed linear layers.
            public var linearWeightBytes: Int
            /// One sequence.
            public var singleStream: Rate
            /// k sequences of one prompt.
            public var kSamples: Rate
            /// Memory bandwidth over bytes per step: the single-stream ceiling.
            public var bandwidthBoundTokensPerSecond: Double
            /// Single-stream decode rate over its ceiling.
            public var fractionOfBandwidthBoundSingle: Double
            /// k-sample decode rate over k × the single-stream ceiling.
            public var fractionOfBandwidthBoundK: Double

            enum CodingKeys: String, CodingKey {
                case format, weightBytesPerStep = "weight_bytes_per_step", linearWeightBytes = "linear_weight_bytes"
                case singleStream = "single_stream", kSamples = "k_samples"
                case bandwidthBoundTokensPerSecond = "bandwidth_bound_single_tokens_per_second"
                case fractionOfBandwidthBoundSingle = "fraction_of_bandwidth_bound_single"
                case fractionOfBandwidthBoundK = "fraction_of_bandwidth_bound_k"
            }
        }

        /// The model folder, or a description of the random model.
        public var model: String
        /// Parameters (tied embeddings counted once).
        public var parameters: Int
        /// Hidden size.
        public var hiddenSize: Int
        /// Transformer blocks.
        public var layers: Int
        /// FFN width.
        public var intermediateSize: Int
        /// Vocabulary size.
        public var vocabSize: Int
        /// Samples per prompt.
        public var k: Int
        /// Prompt tokens.
        public var promptTokens: Int
        /// Tokens generated per sequence.
        public var newTokens: Int
        /// Threads per matrix product.
        public var threads: Int
        /// How the key/value cache stores its elements: fp16 or fp32.
        public var kvCache: String
        /// Active processors.
        public var cores: Int
        /// Always true: the serving kernels are SIMD.
        public var simd: Bool
        /// Read bandwidth of a 512 MiB buffer, GB/s.
        public var memoryBandwidthGBps: Double
        /// Read bandwidth of an 8 MiB (cache-resident) buffer, GB/s.
        public var cacheBandwidthGBps: Double
        /// The load averages before the run.
        public var loadAverageBefore: String
        /// The load averages after the run.
        public var loadAverageAfter: String
        /// One entry per format.
        public var results: [Result]

        enum CodingKeys: String, CodingKey {
            case model, parameters, hiddenSize = "hidden_size", layers, intermediateSize = "intermediate_size"
            case vocabSize = "vocab_size", k, promptTokens = "prompt_tokens", newTokens = "new_tokens", threads
            case kvCache = "kv_cache", cores, simd
            case memoryBandwidthGBps = "memory_bandwidth_gb_per_s", cacheBandwidthGBps = "cache_bandwidth_gb_per_s"
            case loadAverageBefore = "load_average_before", loadAverageAfter = "load_average_after", results
        }
    }

    /// Loads the model, measures the memory bandwidth, then decodes in every format (on a thread of its own).
    public func run() async throws -> Report {
        guard k > 0, promptTokens > 0, newTokens > 1, threads > 0, repeats > 0 else {
            throw BenchError("k, prompt tokens, threads and repeats must be at least 1 and new tokens at least 2")
        }
        let benchmark = self
        return try await runOnDedicatedThread { try benchmark.measure() }
    }

    /// The shape of the random model: `ops/bench/make_bench_model.py`'s bench-20m.
    static let randomModelConfig = LlamaConfig(
        hiddenSize: 512, intermediateSize: 1408, numAttentionHeads: 8, numKeyValueHeads: 8, numHiddenLayers: 6,
        vocabSize: 1024, tieWordEmbeddings: true, maxPositionEmbeddings: 512, bosTokenId: 1021, eosTokenId: 1022)

    /// The model to measure: a quantized folder, served as it is, or an fp32 model (the folder's or
    /// the random one), served in each of ``formats``.
    enum Source {
        case quantized(ServingModel)
        case fp32(LlamaModel<Float>)

        /// The model's shape.
        var config: LlamaConfig {
            switch self {
            case .quantized(let model): model.config
            case .fp32(let model): model.config
            }
        }
    }

    /// Loads ``modelDirectory`` (plain or quantized), or makes the random model.
    func loadModel() throws -> Source {
        guard let modelDirectory else { return .fp32(try LlamaModel<Float>(config: Self.randomModelConfig, seed: 20)) }
        if try ServingWeights.quantization(directory: modelDirectory) != nil {
            return .quantized(try ServingModel.load(directory: modelDirectory))
        }
        return .fp32(try LlamaModel<Float>.load(directory: modelDirectory))
    }

    private func measure() throws -> Report {
        let loadBefore = LoadAverage.text()
        let source = try loadModel()
        let config = source.config
        guard promptTokens + newTokens <= config.maxPositionEmbeddings else {
            throw BenchError(
                "\(promptTokens) prompt + \(newTokens) new tokens do not fit the model's context of "
                    + "\(config.maxPositionEmbeddings) positions; ask for fewer")
        }
        let bandwidth = MemoryBandwidth.measure(threads: threads)
        var rng = SplitMix64(seed: 1)
        let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(config.vocabSize)) }
        let models =
            switch source {
            case .quantized(let model): [model]
            case .fp32(let model): try formats.map { try ServingModel(model: model, format: $0) }
            }
        var results: [Report.Result] = []
        for serving in models {
            serving.threads = threads
            serving.keyValuePrecision = keyValuePrecision
            let single = decodeRate(serving, prompt: prompt, samples: 1)
            let batched = decodeRate(serving, prompt: prompt, samples: k)
            let bytes = serving.weightBytesPerStep
            let boundSingle = bandwidth.dram / Double(bytes)
            results.append(
                .init(
                    format: serving.format.rawValue, weightBytesPerStep: bytes, linearWeightBytes: serving.linearBytes,
                    singleStream: single, kSamples: batched, bandwidthBoundTokensPerSecond: boundSingle,
                    fractionOfBandwidthBoundSingle: single.decodeTokensPerSecond / boundSingle,
                    fractionOfBandwidthBoundK: batched.decodeTokensPerSecond / (boundSingle * Double(k))))
        }
        return Report(
            model: modelDirectory ?? "random (bench-20m shape, seed 20)", parameters: Self.parameterCount(config),
            hiddenSize: config.hiddenSize, layers: config.numHiddenLayers, intermediateSize: config.intermediateSize,
            vocabSize: config.vocabSize, k: k, promptTokens: promptTokens, newTokens: newTokens, threads: threads,
            kvCache: keyValuePrecision.rawValue, cores: ProcessInfo.processInfo.activeProcessorCount, simd: true,
            memoryBandwidthGBps: bandwidth.dram / 1e9, cacheBandwidthGBps: bandwidth.cache / 1e9,
            loadAverageBefore: loadBefore, loadAverageAfter: LoadAverage.text(), results: results)
    }

    /// Parameters of a model of shape `config` (tied embeddings counted once).
    static func parameterCount(_ config: LlamaConfig) -> Int {
        config.vocabSize * config.hiddenSize * (config.tieWordEmbeddings ? 1 : 2)
            + config.numHiddenLayers
            * (2 * config.hiddenSize + config.hiddenSize * (config.queryDim + 2 * config.keyValueDim)
                + config.queryDim * config.hiddenSize + 3 * config.hiddenSize * config.intermediateSize)
            + config.hiddenSize
    }

    /// Decode and end-to-end tokens/s of `samples` sequences continuing `prompt` together: the best of
    /// ``repeats`` full runs against the best of as many one-token runs.
    private func decodeRate(_ serving: ServingModel, prompt: [Int], samples: Int) -> Report.Rate {
        func once(_ newTokens: Int) -> (tokens: Int, seconds: Double, cpu: Double) {
            let parameters = SamplingParameters(temperature: 0.7, topP: 0.9, maxNewTokens: newTokens, seed: 3)
            let cpuStart = processCPUSeconds()
            let start = ContinuousClock.now
            let out = serving.generate(
                prompts: Array(repeating: prompt, count: samples), parameters: parameters,
                streams: (0..<UInt64(samples)).map { $0 }, eosTokenId: -1, maxBatchSize: samples,
                stop: { _, _ in false })
            return (out.reduce(0) { $0 + $1.tokens.count }, elapsed(since: start), processCPUSeconds() - cpuStart)
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
}

/// Read bandwidth of this machine, measured by summing a buffer on several threads.
enum MemoryBandwidth {
    /// Bytes/s summing a 512 MiB buffer (DRAM) and an 8 MiB one (cache-resident) on `threads` threads,
    /// best of several passes.
    static func measure(threads: Int) -> (dram: Double, cache: Double) {
        (rate(bytes: 512 << 20, passes: 5, threads: threads), rate(bytes: 8 << 20, passes: 50, threads: threads))
    }

    /// Bytes/s of the fastest of `passes` sums of a `bytes`-byte buffer.
    static func rate(bytes: Int, passes: Int, threads: Int) -> Double {
        let count = bytes / 4
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = Float(i & 1023) }
        var sink: Float = 0
        let best = bestSeconds(of: passes) {
            var sums = [Float](repeating: 0, count: threads)
            sums.withUnsafeMutableBufferPointer { sums in
                parallelFor(threads) { t in
                    let lo = count / threads * t
                    let hi = t == threads - 1 ? count : count / threads * (t + 1)
                    sums[t] = streamSum(buffer + lo, count: hi - lo)
                }
            }
            sink += sums.reduce(0, +)
        }
        if sink == -1 { print("") }  // keep the sums alive
        return Double(bytes) / best
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
}
