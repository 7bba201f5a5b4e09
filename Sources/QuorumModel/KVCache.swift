public import QuorumTensor

/// Keys and values of past positions for incremental decoding: per layer, `slots` sequences of up to
/// `capacity` positions each (keys stored after the rotary embedding).
///
/// - Important: not thread-safe; used by one decoding loop at a time.
public final class KVCache<T: TensorScalar> {
    /// Sequences the cache holds at once.
    public let slots: Int
    /// Positions per sequence.
    public let capacity: Int
    /// Per layer, `[slots, capacity, kvDim]`.
    let keys: [Buffer<T>]
    /// Per layer, `[slots, capacity, kvDim]`.
    let values: [Buffer<T>]
    /// Positions filled in each slot.
    public internal(set) var lengths: [Int]

    /// An empty cache for `config` with room for `slots` sequences of `capacity` tokens.
    public init(config: LlamaConfig, slots: Int, capacity: Int) {
        precondition(slots > 0 && capacity > 0)
        self.slots = slots
        self.capacity = capacity
        let count = slots * capacity * config.keyValueDim
        keys = (0..<config.numHiddenLayers).map { _ in Buffer(count: count) }
        values = (0..<config.numHiddenLayers).map { _ in Buffer(count: count) }
        lengths = Array(repeating: 0, count: slots)
    }

    /// Forgets slot `slot`'s positions so it can take a new sequence.
    public func reset(slot: Int) { lengths[slot] = 0 }
}

extension LlamaModel {
    /// Appends `tokens[i]` to the sequence in cache slot `slots[i]` (all at once: a prompt prefill,
    /// or one token per sequence while decoding) and returns, for each `i`, the logits after its
    /// last new token. Rows of all sequences go through each GEMM together.
    @_specialize(where T == Float)
    public func extend(_ cache: KVCache<T>, slots: [Int], tokens: [[Int]]) -> [[T]] {
        precondition(slots.count == tokens.count)
        precondition(Set(slots).count == slots.count, "a slot appears twice in one extend call")
        let c = config
        let kv = c.keyValueDim
        var rowTokens: [Int32] = []
        var positions: [Int32] = []
        var rowOffsets: [Int] = []
        var spans: [AttentionSpan] = []
        var lastRows: [Int] = []
        for (slot, sequence) in zip(slots, tokens) {
            precondition(!sequence.isEmpty, "extend needs at least one token per sequence")
            let start = cache.lengths[slot]
            precondition(
                start + sequence.count <= min(cache.capacity, c.maxPositionEmbeddings), "the KV cache slot is full")
            spans.append(
                AttentionSpan(
                    queryRow: rowTokens.count, rows: sequence.count, start: start,
                    keyOffset: slot * cache.capacity * kv, probOffset: 0))
            for (t, token) in sequence.enumerated() {
                precondition(token >= 0 && token < c.vocabSize, "token \(token) is outside the vocabulary")
                rowTokens.append(Int32(token))
                positions.append(Int32(start + t))
                rowOffsets.append((slot * cache.capacity + start + t) * kv)
            }
            lastRows.append(rowTokens.count - 1)
        }
        let n = rowTokens.count
        let d = c.hiddenSize
        var x = Buffer<T>(count: n * d)
        var y = Buffer<T>(count: n * d)
        let scratch = LayerActivations<T>(config: c, rows: n, probCount: 0)
        embeddingForward(x.pointer, tokens: rowTokens, table: w(layout.embed), dim: d)
        let target = CacheTarget(keys: cache.keys, values: cache.values, rowOffsets: rowOffsets)
        for l in 0..<c.numHiddenLayers {
            layerForward(
                l, x: x.pointer, out: y.pointer, a: scratch, rows: n, positions: positions, spans: spans, cache: target)
            swap(&x, &y)
        }
        for (slot, sequence) in zip(slots, tokens) { cache.lengths[slot] += sequence.count }
        // Only the last row of each sequence needs logits.
        let b = lastRows.count
        let last = Buffer<T>(count: b * d)
        for (i, r) in lastRows.enumerated() { (last.pointer + i * d).update(from: x.pointer + r * d, count: d) }
        let normed = Buffer<T>(count: b * d)
        let rstd = Buffer<T>(count: b)
        rmsNormForward(
            normed.pointer, rstd: rstd.pointer, x: last.pointer, weight: w(layout.finalNorm), rows: b, dim: d,
            eps: T(c.rmsNormEps))
        let logits = Buffer<T>(count: b * c.vocabSize)
        linearForward(
            logits.pointer, x: normed.pointer, weight: w(layout.lmHead), rows: b, inDim: d, outDim: c.vocabSize)
        return (0..<b).map { Array(UnsafeBufferPointer(start: logits.pointer + $0 * c.vocabSize, count: c.vocabSize)) }
    }
}
