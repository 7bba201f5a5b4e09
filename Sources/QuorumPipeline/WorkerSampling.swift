import CoreMetrics
import Foundation
import QuorumServing
public import QuorumTokenizer
import Synchronization

extension ModelSampler {
    /// The sampler a worker uses for one model folder (M_{r−1}, fetched and verified): the serving
    /// model in the spec's serving format (only the block linears are quantized), which runs each
    /// problem's prompt once for its k samples and decodes all of them with continuous batching. A
    /// model trained for a ternary scheme is served in it. Its matrix products use up to `threads`
    /// threads (the samples do not depend on it).
    public static func worker(spec: PipelineSpec, folder: String, threads: Int) throws -> ModelSampler {
        let served = try ModelFolder.load(directory: folder, format: spec.servingFormat)
        (served.generator as? ServingModel)?.threads = threads
        return ModelSampler(
            generator: served.generator, tokenizer: served.tokenizer, format: served.promptFormat,
            maxNewTokens: spec.sampling.maxNewTokens)
    }
}

/// Sampling counters of one worker process.
public struct SamplingCounters: Sendable, Codable {
    public var problems = 0
    public var samples = 0
    public var tokens = 0
    /// Seconds spent inside the sampler.
    public var seconds = 0.0
}

/// What a worker's heartbeat reports: its pipeline counters and its sampling throughput.
public struct WorkerCounters: Sendable, Encodable {
    public var worker: WorkerStatistics
    public var sampling: SamplingCounters
    /// Creates the report.
    public init(worker: WorkerStatistics, sampling: SamplingCounters) {
        self.worker = worker
        self.sampling = sampling
    }
}

/// Wraps a sampler to count what it produced (responses re-tokenized, ≈ 4 M tokens/s) and the
/// time spent inside it, for the worker's throughput lines.
public final class CountingSampler: ResponseSampler {
    let base: any ResponseSampler
    let tokenizer: BPETokenizer
    let counters: SharedCounters

    /// Counts what `base` samples into `counters`, re-tokenizing responses with `tokenizer`.
    public init(base: any ResponseSampler, tokenizer: BPETokenizer, counters: SharedCounters) {
        self.base = base
        self.tokenizer = tokenizer
        self.counters = counters
    }

    public func sample(
        _ problems: [(id: String, question: String)], k: Int, temperature: Double, topP: Double, seed: UInt64
    ) async throws -> [[String]] {
        let start = ContinuousClock.now
        let responses = try await base.sample(problems, k: k, temperature: temperature, topP: topP, seed: seed)
        let elapsed = ContinuousClock.now - start
        let tokens = responses.reduce(0) { sum, group in
            sum + group.reduce(0) { $0 + tokenizer.encode($1, parseSpecialTokens: false).count }
        }
        counters.add(
            SamplingCounters(
                problems: problems.count, samples: problems.count * k, tokens: tokens,
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18))
        return responses
    }
}

/// Counters shared between the sampler and the progress line, also recorded as metrics
/// (`quorum_worker_{problems,samples,tokens}_total` and the `quorum_worker_sampling_seconds` of each call).
public final class SharedCounters: Sendable {
    private let state = Mutex(SamplingCounters())
    private let problems: Counter
    private let samples: Counter
    private let tokens: Counter
    private let latency: Recorder

    /// Counters at zero; `dimensions` label the metrics (pipeline, worker, serving format).
    public init(dimensions: [(String, String)] = []) {
        problems = Counter(label: "quorum_worker_problems_total", dimensions: dimensions)
        samples = Counter(label: "quorum_worker_samples_total", dimensions: dimensions)
        tokens = Counter(label: "quorum_worker_tokens_total", dimensions: dimensions)
        latency = Recorder(label: "quorum_worker_sampling_seconds", dimensions: dimensions, aggregate: true)
    }

    /// Adds `more` to the counts.
    public func add(_ more: SamplingCounters) {
        state.withLock {
            $0.problems += more.problems
            $0.samples += more.samples
            $0.tokens += more.tokens
            $0.seconds += more.seconds
        }
        problems.increment(by: more.problems)
        samples.increment(by: more.samples)
        tokens.increment(by: more.tokens)
        latency.record(more.seconds)
    }

    /// The counts so far.
    public var value: SamplingCounters { state.withLock { $0 } }

    /// "40 problems, 320 samples, 9120 tokens in 21.3 s of sampling: 1.88 problems/s, 428 tokens/s".
    public var line: String {
        let c = value
        let rate = { (count: Int) in c.seconds > 0 ? Double(count) / c.seconds : 0 }
        return "\(c.problems) problems, \(c.samples) samples, \(c.tokens) tokens in "
            + String(
                format: "%.1f s of sampling: %.2f problems/s, %.0f tokens/s", c.seconds, rate(c.problems),
                rate(c.tokens))
    }
}
