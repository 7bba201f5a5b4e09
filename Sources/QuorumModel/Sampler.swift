public import QuorumTensor
public import QuorumCore

/// How to draw continuations.
public struct SamplingParameters: Sendable, Codable, Equatable {
    /// Softmax temperature; 0 (or less) means greedy decoding (argmax).
    public var temperature: Double
    /// Nucleus sampling (Holtzman et al. 2020): draw only from the smallest set of tokens whose
    /// probabilities sum to at least `topP`. 1 disables it.
    public var topP: Double
    /// Most tokens to generate per sequence.
    public var maxNewTokens: Int
    /// Seed of the per-sample random streams.
    public var seed: UInt64

    /// Parameters; SCPO samples with temperature 0.7 and top-p 0.9.
    public init(temperature: Double = 0.7, topP: Double = 0.9, maxNewTokens: Int = 256, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.maxNewTokens = maxNewTokens
        self.seed = seed
    }

    /// Greedy decoding.
    public static func greedy(maxNewTokens: Int) -> SamplingParameters {
        SamplingParameters(temperature: 0, topP: 1, maxNewTokens: maxNewTokens)
    }
}

/// Why a sequence stopped.
public enum FinishReason: String, Sendable, Codable {
    /// It produced the end-of-sequence token (kept as its last token).
    case endOfSequence
    /// The caller's stop predicate said so.
    case stopPredicate
    /// It reached `maxNewTokens`.
    case length
}

/// One generated continuation.
public struct Generation: Sendable, Equatable {
    /// The new tokens (without the prompt).
    public var tokens: [Int]
    /// Why it stopped.
    public var finish: FinishReason
}

/// Next-token choice from a row of logits.
public enum Sampler {
    /// The index of the largest logit (the first one on ties).
    @inlinable
    public static func argmax<T: TensorScalar>(_ logits: [T]) -> Int {
        var best = 0
        for j in 1..<logits.count where logits[j] > logits[best] { best = j }
        return best
    }

    /// A token drawn from softmax(logits / temperature) restricted to the top-p nucleus, or the
    /// argmax when `temperature ≤ 0`. Works in Double so a seed gives the same token everywhere.
    /// Inlinable, so that callers in other modules (the serving model) get it specialised for their
    /// scalar type instead of running it generically.
    @inlinable
    public static func sample<T: TensorScalar>(
        _ logits: [T], temperature: Double, topP: Double, using rng: inout SplitMix64
    ) -> Int {
        if temperature <= 0 { return argmax(logits) }
        let m = Double(logits[argmax(logits)])
        var probs = logits.map { Math.exp((Double($0) - m) / temperature) }
        let total = probs.reduce(0, +)
        for j in probs.indices { probs[j] /= total }
        var candidates: [Int] = []
        var mass = 1.0
        if topP < 1 {
            mass = nucleus(probs, topP: topP, into: &candidates)
        } else {
            candidates = Array(probs.indices)
        }
        var u = rng.nextUniform() * mass
        for j in candidates {
            u -= probs[j]
            if u < 0 { return j }
        }
        return candidates.last!
    }
}

extension Sampler {
    /// The top-`topP` nucleus of `probs`, most probable first (ties: lower id first), appended to
    /// `candidates`; returns its probability mass. The first 64 tokens come off a binary max-heap
    /// (O(V + k log V)); a nucleus that is not complete by then (flat distributions: random weights,
    /// high temperature) gets the rest of the heap sorted once instead of popped one by one.
    @usableFromInline
    static func nucleus(_ probs: [Double], topP: Double, into candidates: inout [Int]) -> Double {
        var cumulative = 0.0
        probs.withUnsafeBufferPointer { p in
            @inline(__always) func before(_ a: Int32, _ b: Int32) -> Bool {
                p[Int(a)] > p[Int(b)] || (p[Int(a)] == p[Int(b)] && a < b)
            }
            var heap = (0..<Int32(p.count)).map { $0 }
            var count = heap.count
            heap.withUnsafeMutableBufferPointer { h in
                func siftDown(_ start: Int) {
                    var i = start
                    while true {
                        let l = 2 * i + 1
                        let r = l + 1
                        var best = i
                        if l < count && before(h[l], h[best]) { best = l }
                        if r < count && before(h[r], h[best]) { best = r }
                        if best == i { return }
                        h.swapAt(i, best)
                        i = best
                    }
                }
                for i in stride(from: count / 2 - 1, through: 0, by: -1) { siftDown(i) }
                while count > 0 && candidates.count < 64 {
                    let top = h[0]
                    count -= 1
                    h[0] = h[count]
                    siftDown(0)
                    candidates.append(Int(top))
                    cumulative += p[Int(top)]
                    if cumulative >= topP { return }
                }
                var rest = UnsafeMutableBufferPointer(rebasing: h[0..<count])
                rest.sort(by: before)
                for j in rest {
                    candidates.append(Int(j))
                    cumulative += p[Int(j)]
                    if cumulative >= topP { return }
                }
            }
        }
        return cumulative
    }
}

extension LlamaModel {
    /// Continues every prompt, decoding up to `maxBatchSize` of them together with a KV cache.
    ///
    /// Sample `i` draws from its own stream `SplitMix64(seed, stream: streams[i])` (default: `i`),
    /// so a sample is reproducible from the seed and its stream number. A sequence stops at
    /// `eosTokenId` (default: the config's), when `stop(i, tokensSoFar)` returns true (e.g. after a
    /// `#### <answer>` line), or after `maxNewTokens`. The EOS token, when drawn, ends the tokens.
    @_specialize(where T == Float)
    public func generate(
        prompts: [[Int]], parameters: SamplingParameters, streams: [UInt64]? = nil, eosTokenId: Int? = nil,
        maxBatchSize: Int = 64, stop: (_ index: Int, _ generated: [Int]) -> Bool = { _, _ in false }
    ) -> [Generation] {
        let count = prompts.count
        let streams = streams ?? (0..<count).map(UInt64.init)
        precondition(streams.count == count, "one stream per prompt")
        precondition(maxBatchSize > 0)
        var results = [Generation](repeating: Generation(tokens: [], finish: .length), count: count)
        guard parameters.maxNewTokens > 0 else { return results }
        for first in stride(from: 0, to: count, by: maxBatchSize) {
            let indices = Array(first..<min(count, first + maxBatchSize))
            decodeBatch(
                indices, prompts: prompts, streams: streams, parameters: parameters,
                eos: eosTokenId ?? config.eosTokenId, results: &results, stop: stop)
        }
        return results
    }

    /// Decodes `indices` of `prompts` together, writing their `results`.
    private func decodeBatch(
        _ indices: [Int], prompts: [[Int]], streams: [UInt64], parameters: SamplingParameters, eos: Int?,
        results: inout [Generation], stop: (_ index: Int, _ generated: [Int]) -> Bool
    ) {
        let longest = indices.map { prompts[$0].count }.max()!
        let cache = KVCache<T>(config: config, slots: indices.count, capacity: longest + parameters.maxNewTokens)
        // Slot s holds sample indices[s]; rngs[s] is its stream.
        var rngs = indices.map { SplitMix64(seed: parameters.seed, stream: streams[$0]) }
        var active = Array(0..<indices.count)
        var logits = extend(cache, slots: active, tokens: indices.map { prompts[$0] })
        while !active.isEmpty {
            var next: [Int] = []
            var still: [Int] = []
            // Each sequence draws from its own stream, so the rows can be sampled in parallel.
            var drawn = [Int](repeating: 0, count: active.count)
            drawn.withUnsafeMutableBufferPointer { drawn in
                rngs.withUnsafeMutableBufferPointer { rngs in
                    parallelFor(active.count) { row in
                        drawn[row] = Sampler.sample(
                            logits[row], temperature: parameters.temperature, topP: parameters.topP,
                            using: &rngs[active[row]])
                    }
                }
            }
            for (row, slot) in active.enumerated() {
                let i = indices[slot]
                let token = drawn[row]
                results[i].tokens.append(token)
                if token == eos {
                    results[i].finish = .endOfSequence
                } else if stop(i, results[i].tokens) {
                    results[i].finish = .stopPredicate
                } else if results[i].tokens.count >= parameters.maxNewTokens {
                    results[i].finish = .length
                } else {
                    still.append(slot)
                    next.append(token)
                }
            }
            active = still
            if active.isEmpty { break }
            logits = extend(cache, slots: active, tokens: next.map { [$0] })
        }
    }
}
