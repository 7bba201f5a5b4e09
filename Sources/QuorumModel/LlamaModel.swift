public import QuorumTensor
import QuorumCore

/// Sequences to run through the model together: any lengths, packed row after row (no padding
/// is computed), each attending causally only to itself.
public struct TokenBatch: Sendable {
    /// Token ids of each sequence.
    public var sequences: [[Int]]
    /// `scored[b][t]` says whether token `t` of sequence `b` counts as a prediction target (it is
    /// predicted from position `t − 1`; `t = 0` never counts). `nil` scores every token after the first.
    public var scored: [[Bool]]?

    /// A batch; see ``scored``.
    public init(sequences: [[Int]], scored: [[Bool]]? = nil) {
        self.sequences = sequences
        self.scored = scored
    }

    /// A batch whose sequences are `prompt + response` and whose scored tokens are the responses'
    /// (the span SCPO's log M(y|x) sums over).
    public init(prompts: [[Int]], responses: [[Int]]) {
        precondition(prompts.count == responses.count)
        sequences = zip(prompts, responses).map { $0 + $1 }
        scored = zip(prompts, responses).map {
            Array(repeating: false, count: $0.count) + Array(repeating: true, count: $1.count)
        }
    }
}

/// How a batch's sequences sit in the packed rows.
struct Packing {
    /// Token id of every row.
    var tokens: [Int32] = []
    /// Position (within its sequence) of every row.
    var positions: [Int32] = []
    /// The token each row predicts, or −1 when that prediction is not scored.
    var targets: [Int32] = []
    /// Sequence index of every row.
    var sequenceOfRow: [Int32] = []
    /// Rows of each sequence.
    var rowsOfSequence: [Range<Int>] = []
    /// Attention spans (keys in the same packed rows).
    var spans: [AttentionSpan] = []
    /// Elements of saved attention probabilities per layer.
    var probCount = 0

    var rows: Int { tokens.count }

    init(batch: TokenBatch, config: LlamaConfig) {
        if let scored = batch.scored {
            precondition(
                scored.count == batch.sequences.count
                    && zip(scored, batch.sequences).allSatisfy { $0.count == $1.count },
                "the scored mask must have one flag per token of every sequence")
        }
        for (b, sequence) in batch.sequences.enumerated() {
            precondition(!sequence.isEmpty, "sequence \(b) is empty")
            precondition(
                sequence.count <= config.maxPositionEmbeddings, "sequence \(b) is longer than max_position_embeddings")
            let first = tokens.count
            let n = sequence.count
            for (t, token) in sequence.enumerated() {
                precondition(token >= 0 && token < config.vocabSize, "token \(token) is outside the vocabulary")
                tokens.append(Int32(token))
                positions.append(Int32(t))
                sequenceOfRow.append(Int32(b))
                let next = t + 1
                let counts = next < n && (batch.scored.map { $0[b][next] } ?? true)
                targets.append(counts ? Int32(sequence[next]) : -1)
            }
            rowsOfSequence.append(first..<first + n)
            spans.append(
                AttentionSpan(
                    queryRow: first, rows: n, start: 0, keyOffset: first * config.keyValueDim, probOffset: probCount))
            probCount += config.numAttentionHeads * n * n
        }
    }
}

/// One layer's saved activations (training) or scratch (inference), `rows` tokens wide.
final class LayerActivations<T: TensorScalar> {
    let rstd1, xn1, q, k, v, probs, attn, xMid, rstd2, xn2, gate, up, h: Buffer<T>

    init(config c: LlamaConfig, rows n: Int, probCount: Int) {
        let d = c.hiddenSize
        let f = c.intermediateSize
        rstd1 = Buffer(count: n)
        xn1 = Buffer(count: n * d)
        q = Buffer(count: n * c.queryDim)
        k = Buffer(count: n * c.keyValueDim)
        v = Buffer(count: n * c.keyValueDim)
        probs = Buffer(count: probCount)
        attn = Buffer(count: n * c.queryDim)
        xMid = Buffer(count: n * d)
        rstd2 = Buffer(count: n)
        xn2 = Buffer(count: n * d)
        gate = Buffer(count: n * f)
        up = Buffer(count: n * f)
        h = Buffer(count: n * f)
    }
}

/// The result of ``LlamaModel/forward(_:)``: logits, log-probabilities of the scored targets, and
/// every activation the backward pass needs.
public final class ForwardPass<T: TensorScalar> {
    var packing: Packing
    /// Residual stream before layer l (l = 0: embeddings), and after the last layer.
    let residual: [Buffer<T>]
    let layers: [LayerActivations<T>]
    let finalRstd: Buffer<T>
    let finalNormed: Buffer<T>
    /// Logits, `[rows, vocab]`, rows packed sequence after sequence.
    public let logits: Buffer<T>
    let lse: Buffer<T>
    let logProbs: Buffer<T>

    init(config c: LlamaConfig, packing: Packing) {
        self.packing = packing
        let n = packing.rows
        residual = (0...c.numHiddenLayers).map { _ in Buffer(count: n * c.hiddenSize) }
        layers = (0..<c.numHiddenLayers).map { _ in LayerActivations(config: c, rows: n, probCount: packing.probCount) }
        finalRstd = Buffer(count: n)
        finalNormed = Buffer(count: n * c.hiddenSize)
        logits = Buffer(count: n * c.vocabSize)
        lse = Buffer(count: n)
        logProbs = Buffer(count: n)
    }

    /// Number of packed rows (tokens in the batch).
    public var rows: Int { packing.rows }

    /// The packed rows of sequence `b`; row `rowsOfSequence(b).lowerBound + t` is its token `t`.
    public func rows(ofSequence b: Int) -> Range<Int> { packing.rowsOfSequence[b] }

    /// The logits after token `position` of sequence `sequence` (the distribution of the next token).
    public func logits(sequence: Int, position: Int) -> [T] {
        let range = packing.rowsOfSequence[sequence]
        precondition(position >= 0 && position < range.count)
        let vocab = logits.count / max(rows, 1)
        return Array(UnsafeBufferPointer(start: logits.pointer + (range.lowerBound + position) * vocab, count: vocab))
    }

    /// log p(token t+1 | tokens ≤ t) for each row whose next token is scored, 0 for the others.
    public var tokenLogProbs: [T] { logProbs.array }

    /// Per sequence, Σ of its scored tokens' log-probabilities (SCPO's log M(y|x)).
    public var sequenceLogProbs: [T] {
        packing.rowsOfSequence.map { range in range.reduce(T(0)) { $0 + logProbs[$1] } }
    }

    /// Per sequence, the number of scored tokens (SCPO's |y|).
    public var scoredCounts: [Int] {
        packing.rowsOfSequence.map { range in range.reduce(0) { $0 + (packing.targets[$1] >= 0 ? 1 : 0) } }
    }

    /// The mean cross-entropy over all scored tokens of the batch, −Σ logp / count.
    public var meanCrossEntropy: T {
        let count = packing.targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        guard count > 0 else { return 0 }
        return -(0..<rows).reduce(T(0)) { $0 + logProbs[$1] } / T(count)
    }
}

/// Gradient buffers of one backward pass, `rows` tokens wide (kept between steps).
final class BackwardScratch<T: TensorScalar> {
    let rows: Int
    let dLogits, dNormed, dResid, dh, dGate, dUp, dAttn, dq, dk, dv: Buffer<T>

    init(config c: LlamaConfig, rows n: Int) {
        rows = n
        dLogits = Buffer(count: n * c.vocabSize)
        dNormed = Buffer(count: n * c.hiddenSize)
        dResid = Buffer(count: n * c.hiddenSize)
        dh = Buffer(count: n * c.intermediateSize)
        dGate = Buffer(count: n * c.intermediateSize)
        dUp = Buffer(count: n * c.intermediateSize)
        dAttn = Buffer(count: n * c.queryDim)
        dq = Buffer(count: n * c.queryDim)
        dk = Buffer(count: n * c.keyValueDim)
        dv = Buffer(count: n * c.keyValueDim)
    }
}

/// A Llama-family decoder (Touvron et al. 2023) with fp32 (or, for tests, fp64) master weights in one
/// flat buffer, a hand-written backward pass, and incremental decoding through ``KVCache``.
///
/// Training step: ``zeroGradients()``, then per micro-batch ``forward(_:)`` and a backward
/// (``backwardCrossEntropy(_:scale:)`` or ``backward(_:sequenceGradients:)``), then an ``AdamW`` step.
///
/// - Important: a model is not thread-safe; one caller at a time. Its methods use all cores inside
///   (OpenBLAS threads and `DispatchQueue.concurrentPerform`) and block the calling thread until
///   done, so call them from a dedicated thread or queue, not from Swift's cooperative pool.
public final class LlamaModel<T: TensorScalar> {
    /// The model's shape (and quantization scheme, see ``setQuantization(_:)``).
    public internal(set) var config: LlamaConfig
    /// Where each named tensor sits in ``parameters``.
    public let layout: ParameterLayout
    /// Every weight, one flat buffer laid out by ``layout``.
    public let parameters: Buffer<T>
    /// Gradients, same layout; backward accumulates into them.
    public let gradients: Buffer<T>
    let ropeTable: RopeTable<T>
    /// The previous forward pass, reused for the next batch of the same shape once the caller has
    /// let go of it (saves allocating and zeroing every activation each step).
    private var sparePass: ForwardPass<T>?
    /// Backward scratch, reused while the batch shape stays the same.
    private var spareScratch: BackwardScratch<T>?
    /// With quantization: the block linears' ternary weights (same layout as ``parameters``).
    var quantizedWeights: Buffer<T>?
    /// Whether ``quantizedWeights`` matches ``parameters``.
    var quantizedWeightsCurrent = false

    /// A model of `config` with every weight zero and the norms' weights one.
    public init(config: LlamaConfig) throws(ModelError) {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config: config)
        parameters = Buffer(count: layout.count)
        gradients = Buffer(count: layout.count)
        ropeTable = RopeTable(headDim: config.headDim, theta: config.ropeTheta, positions: config.maxPositionEmbeddings)
        for entry in layout.entries where entry.shape.count == 1 {
            (parameters.pointer + entry.offset).update(repeating: 1, count: entry.count)
        }
        if config.quantization != nil { quantizedWeights = Buffer(count: layout.count) }
    }

    /// A model of `config` with GPT-2-style random weights from `seed`: N(0, 0.02²) for every
    /// matrix, std 0.02/√(2·layers) for the projections into the residual stream (o_proj, down_proj),
    /// norms one.
    public convenience init(config: LlamaConfig, seed: UInt64) throws(ModelError) {
        try self.init(config: config)
        var rng = SplitMix64(seed: seed)
        let residualScale = 1 / (2 * Double(config.numHiddenLayers)).squareRoot()
        for entry in layout.entries where entry.shape.count == 2 {
            let isResidual = entry.name.hasSuffix("o_proj.weight") || entry.name.hasSuffix("down_proj.weight")
            let std = 0.02 * (isResidual ? residualScale : 1)
            let p = parameters.pointer + entry.offset
            for i in 0..<entry.count { p[i] = T(rng.nextGaussian() * std) }
        }
    }

    /// Number of parameters (the tied LM head counted once).
    public var parameterCount: Int { layout.count }

    /// Sets every gradient to zero.
    public func zeroGradients() { gradients.zero() }

    /// A copy of the named tensor.
    public func tensor(named name: String) -> Tensor<T>? {
        guard let e = layout.entry(named: name) else { return nil }
        return Tensor(
            shape: e.shape, storage: Array(UnsafeBufferPointer(start: parameters.pointer + e.offset, count: e.count)))
    }

    @inline(__always) func w(_ offset: Int) -> UP<T> { UP(parameters.pointer + offset) }
    @inline(__always) func g(_ offset: Int) -> MP<T> { gradients.pointer + offset }

    // MARK: Forward

    /// Runs the batch: logits for every token and log-probabilities of the scored targets, keeping
    /// the activations for a backward pass.
    @_specialize(where T == Float)
    public func forward(_ batch: TokenBatch) -> ForwardPass<T> {
        let c = config
        let packing = Packing(batch: batch, config: c)
        let pass: ForwardPass<T>
        if isKnownUniquelyReferenced(&sparePass), let spare = sparePass, spare.packing.rows == packing.rows,
            spare.packing.probCount == packing.probCount
        {
            // Every buffer is overwritten below, so no zeroing is needed.
            spare.packing = packing
            pass = spare
        } else {
            pass = ForwardPass<T>(config: c, packing: packing)
        }
        sparePass = nil
        defer { sparePass = pass }
        let n = packing.rows
        embeddingForward(pass.residual[0].pointer, tokens: packing.tokens, table: w(layout.embed), dim: c.hiddenSize)
        for l in 0..<c.numHiddenLayers {
            layerForward(
                l, x: pass.residual[l].pointer, out: pass.residual[l + 1].pointer, a: pass.layers[l], rows: n,
                positions: packing.positions, spans: packing.spans, cache: nil)
        }
        rmsNormForward(
            pass.finalNormed.pointer, rstd: pass.finalRstd.pointer, x: pass.residual[c.numHiddenLayers].pointer,
            weight: w(layout.finalNorm), rows: n, dim: c.hiddenSize, eps: T(c.rmsNormEps))
        linearForward(
            pass.logits.pointer, x: pass.finalNormed.pointer, weight: w(layout.lmHead), rows: n, inDim: c.hiddenSize,
            outDim: c.vocabSize)
        tokenLogProbForward(
            logp: pass.logProbs.pointer, lse: pass.lse.pointer, logits: pass.logits.pointer, targets: packing.targets,
            rows: n, vocab: c.vocabSize)
        return pass
    }

    /// Where the keys and values of an incremental forward go: the cache's per-layer buffers and,
    /// for every row, the element offset of its slot and position.
    struct CacheTarget {
        var keys: [Buffer<T>]
        var values: [Buffer<T>]
        var rowOffsets: [Int]
    }

    /// One transformer block: `xMid = x + o(attn(norm1(x)))`, `out = xMid + down(glu(norm2(xMid)))`.
    func layerForward(
        _ l: Int, x: MP<T>, out: MP<T>, a: LayerActivations<T>, rows n: Int, positions: [Int32],
        spans: [AttentionSpan], cache: CacheTarget?
    ) {
        let c = config
        let o = layout.layers[l]
        let d = c.hiddenSize
        let f = c.intermediateSize
        let eps = T(c.rmsNormEps)
        if l == 0 { prepareQuantizedWeights() }
        rmsNormForward(a.xn1.pointer, rstd: a.rstd1.pointer, x: x, weight: w(o.inputNorm), rows: n, dim: d, eps: eps)
        // With quantization the block linears' inputs are quantized in place (backward only needs
        // the quantized values: STE), and the linears multiply the ternary weights.
        quantizeInput(\.blockInput, a.xn1.pointer, rows: n, dim: d)
        linearForward(a.q.pointer, x: a.xn1.pointer, weight: lw(o.q), rows: n, inDim: d, outDim: c.queryDim)
        linearForward(a.k.pointer, x: a.xn1.pointer, weight: lw(o.k), rows: n, inDim: d, outDim: c.keyValueDim)
        linearForward(a.v.pointer, x: a.xn1.pointer, weight: lw(o.v), rows: n, inDim: d, outDim: c.keyValueDim)
        applyRope(
            a.q.pointer, rows: n, heads: c.numAttentionHeads, headDim: c.headDim, positions: positions, table: ropeTable
        )
        applyRope(
            a.k.pointer, rows: n, heads: c.numKeyValueHeads, headDim: c.headDim, positions: positions, table: ropeTable)
        var keys = a.k.pointer
        var values = a.v.pointer
        if let cache {
            let kv = c.keyValueDim
            keys = cache.keys[l].pointer
            values = cache.values[l].pointer
            for r in 0..<n {
                (keys + cache.rowOffsets[r]).update(from: a.k.pointer + r * kv, count: kv)
                (values + cache.rowOffsets[r]).update(from: a.v.pointer + r * kv, count: kv)
            }
        }
        if spans.allSatisfy({ $0.rows == 1 }) && cache != nil {
            // Decoding: one query row per sequence; row kernels in parallel beat tiny GEMMs.
            attentionForwardRows(
                out: a.attn.pointer, q: a.q.pointer, k: keys, v: values, probs: nil, spans: spans,
                heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim)
        } else {
            attentionForward(
                out: a.attn.pointer, q: a.q.pointer, k: keys, v: values, probs: cache == nil ? a.probs.pointer : nil,
                spans: spans, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim)
        }
        quantizeInput(\.outputProjectionInput, a.attn.pointer, rows: n, dim: c.queryDim)
        linearForward(a.xMid.pointer, x: a.attn.pointer, weight: lw(o.o), rows: n, inDim: c.queryDim, outDim: d)
        addInPlace(a.xMid.pointer, x, count: n * d)
        rmsNormForward(
            a.xn2.pointer, rstd: a.rstd2.pointer, x: a.xMid.pointer, weight: w(o.postNorm), rows: n, dim: d, eps: eps)
        quantizeInput(\.blockInput, a.xn2.pointer, rows: n, dim: d)
        linearForward(a.gate.pointer, x: a.xn2.pointer, weight: lw(o.gate), rows: n, inDim: d, outDim: f)
        linearForward(a.up.pointer, x: a.xn2.pointer, weight: lw(o.up), rows: n, inDim: d, outDim: f)
        gluForward(a.h.pointer, gate: a.gate.pointer, up: a.up.pointer, count: n * f, kind: c.hiddenAct)
        quantizeInput(\.downProjectionInput, a.h.pointer, rows: n, dim: f)
        linearForward(out, x: a.h.pointer, weight: lw(o.down), rows: n, inDim: f, outDim: d)
        addInPlace(out, a.xMid.pointer, count: n * d)
    }

    // MARK: Backward

    /// Accumulates into ``gradients`` the gradient of a loss L given `dLogProbs[r]` = ∂L/∂logp_r
    /// for every packed row (rows that are not scored are ignored).
    @_specialize(where T == Float)
    public func backward(_ pass: ForwardPass<T>, dLogProbs: [T]) {
        let c = config
        let p = pass.packing
        let n = p.rows
        let d = c.hiddenSize
        let f = c.intermediateSize
        let scratch: BackwardScratch<T>
        if let spare = spareScratch, spare.rows == n {
            scratch = spare
        } else {
            scratch = BackwardScratch(config: c, rows: n)
            spareScratch = scratch
        }
        let dLogits = scratch.dLogits
        tokenLogProbBackward(
            dLogits: dLogits.pointer, dLogp: dLogProbs, logits: pass.logits.pointer, lse: pass.lse.pointer,
            targets: p.targets, rows: n, vocab: c.vocabSize)
        let dNormed = scratch.dNormed
        linearBackward(
            dx: dNormed.pointer, dWeight: g(layout.lmHead), dy: dLogits.pointer, x: pass.finalNormed.pointer,
            weight: w(layout.lmHead), rows: n, inDim: d, outDim: c.vocabSize)
        let dResid = scratch.dResid
        dResid.zero()
        rmsNormBackward(
            dx: dResid.pointer, dWeight: g(layout.finalNorm), dy: dNormed.pointer,
            x: pass.residual[c.numHiddenLayers].pointer, weight: w(layout.finalNorm), rstd: pass.finalRstd.pointer,
            rows: n, dim: d)
        let dXn = dNormed
        let dh = scratch.dh
        let dGate = scratch.dGate
        let dUp = scratch.dUp
        let dAttn = scratch.dAttn
        let dq = scratch.dq
        let dk = scratch.dk
        let dv = scratch.dv
        for l in stride(from: c.numHiddenLayers - 1, through: 0, by: -1) {
            let a = pass.layers[l]
            let o = layout.layers[l]
            // dResid holds ∂L/∂out; out = xMid + down(h). With quantization, `h`, `attn`, `xn1`, `xn2`
            // hold the quantized inputs and `lw` gives the ternary weights, so these are the
            // gradients of the quantized linears, passed straight through the quantizers (STE) to
            // the latent weights and to the activations (also through a4.8's top-K mask).
            linearBackward(
                dx: dh.pointer, dWeight: g(o.down), dy: dResid.pointer, x: a.h.pointer, weight: lw(o.down), rows: n,
                inDim: f, outDim: d)
            gluBackward(
                dGate: dGate.pointer, dUp: dUp.pointer, dh: dh.pointer, gate: a.gate.pointer, up: a.up.pointer,
                count: n * f, kind: c.hiddenAct)
            linearBackward(
                dx: dXn.pointer, dWeight: g(o.gate), dy: dGate.pointer, x: a.xn2.pointer, weight: lw(o.gate), rows: n,
                inDim: d, outDim: f)
            linearBackward(
                dx: dXn.pointer, dWeight: g(o.up), dy: dUp.pointer, x: a.xn2.pointer, weight: lw(o.up), rows: n,
                inDim: d, outDim: f, accumulate: true)
            rmsNormBackward(
                dx: dResid.pointer, dWeight: g(o.postNorm), dy: dXn.pointer, x: a.xMid.pointer, weight: w(o.postNorm),
                rstd: a.rstd2.pointer, rows: n, dim: d)
            // dResid now holds ∂L/∂xMid; xMid = x + o(attn).
            linearBackward(
                dx: dAttn.pointer, dWeight: g(o.o), dy: dResid.pointer, x: a.attn.pointer, weight: lw(o.o), rows: n,
                inDim: c.queryDim, outDim: d)
            dk.zero()
            dv.zero()
            attentionBackward(
                dq: dq.pointer, dk: dk.pointer, dv: dv.pointer, dOut: dAttn.pointer, q: a.q.pointer, k: a.k.pointer,
                v: a.v.pointer, probs: a.probs.pointer, spans: p.spans, heads: c.numAttentionHeads,
                kvHeads: c.numKeyValueHeads, headDim: c.headDim)
            applyRope(
                dq.pointer, rows: n, heads: c.numAttentionHeads, headDim: c.headDim, positions: p.positions,
                table: ropeTable, inverse: true)
            applyRope(
                dk.pointer, rows: n, heads: c.numKeyValueHeads, headDim: c.headDim, positions: p.positions,
                table: ropeTable, inverse: true)
            linearBackward(
                dx: dXn.pointer, dWeight: g(o.q), dy: dq.pointer, x: a.xn1.pointer, weight: lw(o.q), rows: n, inDim: d,
                outDim: c.queryDim)
            linearBackward(
                dx: dXn.pointer, dWeight: g(o.k), dy: dk.pointer, x: a.xn1.pointer, weight: lw(o.k), rows: n, inDim: d,
                outDim: c.keyValueDim, accumulate: true)
            linearBackward(
                dx: dXn.pointer, dWeight: g(o.v), dy: dv.pointer, x: a.xn1.pointer, weight: lw(o.v), rows: n, inDim: d,
                outDim: c.keyValueDim, accumulate: true)
            rmsNormBackward(
                dx: dResid.pointer, dWeight: g(o.inputNorm), dy: dXn.pointer, x: pass.residual[l].pointer,
                weight: w(o.inputNorm), rstd: a.rstd1.pointer, rows: n, dim: d)
            // dResid now holds ∂L/∂x of layer l.
        }
        embeddingBackward(g(layout.embed), tokens: p.tokens, dOut: dResid.pointer, dim: d)
    }

    /// Backward of `L = Σ_b sequenceGradients[b] · log M(y_b | x_b)`: each sequence's scored-token
    /// log-prob sum (``ForwardPass/sequenceLogProbs``) weighted by its gradient — what SCPO needs.
    @_specialize(where T == Float)
    public func backward(_ pass: ForwardPass<T>, sequenceGradients: [T]) {
        let p = pass.packing
        precondition(sequenceGradients.count == p.rowsOfSequence.count)
        let perRow = p.sequenceOfRow.map { sequenceGradients[Int($0)] }
        backward(pass, dLogProbs: perRow)
    }

    /// Backward of `scale ·` ``ForwardPass/meanCrossEntropy``; returns that mean cross-entropy.
    /// For gradient accumulation over k micro-batches pass `scale = 1/k`.
    @discardableResult
    @_specialize(where T == Float)
    public func backwardCrossEntropy(_ pass: ForwardPass<T>, scale: T = 1) -> T {
        let count = pass.packing.targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) }
        guard count > 0 else { return 0 }
        let g = -scale / T(count)
        backward(pass, dLogProbs: [T](repeating: g, count: pass.rows))
        return pass.meanCrossEntropy
    }
}
