import Foundation
public import QuorumModel
import QuorumQuant
public import QuorumTensor

/// How a ``KVStore`` keeps keys and values.
public enum KVPrecision: String, Sendable, CaseIterable {
    /// IEEE binary16, as llama.cpp and vLLM keep their caches by default: half the bytes attention
    /// streams per step; each key/value element is rounded to nearest (relative error ≤ 2⁻¹¹).
    case float16 = "fp16"
    /// fp32: exactly what the fp32 reference model attends over.
    case float32 = "fp32"

    var bytes: Int { self == .float16 ? 2 : 4 }
}

/// Keys and values of one sequence's positions (or of a prompt shared by several sequences), per
/// layer `[kvHeads, capacity, headDim]` (each head's positions contiguous, so attention streams them),
/// keys stored after the rotary embedding, in the store's ``KVPrecision``.
///
/// - Important: not thread-safe; one decoding loop uses it at a time.
public final class KVStore {
    /// Positions it can hold.
    public let capacity: Int
    /// How keys and values are stored.
    public let precision: KVPrecision
    /// Positions filled.
    public internal(set) var length = 0
    /// Per layer, `capacity × kvDim` keys (`Float` or binary16 bits, per ``precision``).
    let keys: [UnsafeMutableRawPointer]
    /// Per layer, `capacity × kvDim` values.
    let values: [UnsafeMutableRawPointer]

    /// An empty store for `config` with room for `capacity` positions.
    public init(config: LlamaConfig, capacity: Int, precision: KVPrecision = .float16) {
        precondition(capacity > 0, "a KV store needs room for at least one position")
        self.capacity = capacity
        self.precision = precision
        let bytes = capacity * config.keyValueDim * precision.bytes
        func allocate() -> UnsafeMutableRawPointer {
            let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            p.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            return p
        }
        keys = (0..<config.numHiddenLayers).map { _ in allocate() }
        values = (0..<config.numHiddenLayers).map { _ in allocate() }
    }

    deinit {
        for p in keys { p.deallocate() }
        for p in values { p.deallocate() }
    }

    /// Forgets every position so the store can take a new sequence.
    public func reset() { length = 0 }

    /// Writes `count` fp32 values at element offset `at` of `buffer`, converted to the store's precision.
    func write(_ buffer: UnsafeMutableRawPointer, at: Int, from source: UnsafePointer<Float>, count: Int) {
        switch precision {
        case .float32: (buffer.assumingMemoryBound(to: Float.self) + at).update(from: source, count: count)
        case .float16: Kernels.toHalf(source, count: count, into: buffer.assumingMemoryBound(to: UInt16.self) + at)
        }
    }
}

/// New tokens for one sequence in a ``ServingModel/extend(_:)`` call: they are appended to `store`,
/// after the `prefix` (a shared prompt's keys and values, read but never written) when there is one.
public struct ExtendRequest {
    /// Where this sequence's own positions go.
    public var store: KVStore
    /// Positions shared with other sequences, before the store's (nil: none).
    public var prefix: KVStore?
    /// Tokens to append (a prompt, or one sampled token).
    public var tokens: [Int]

    /// A request; see the properties.
    public init(store: KVStore, prefix: KVStore? = nil, tokens: [Int]) {
        self.store = store
        self.prefix = prefix
        self.tokens = tokens
    }
}

/// An inference-only Llama-family model whose block linear layers run in a ``ServingFormat``
/// (QuorumQuant's packed kernels); embeddings, norms and the LM head stay fp32. Decoding uses
/// ``KVStore``s; a prompt's store can be shared as the prefix of many sequences.
///
/// Every per-token result is batch invariant: a token's logits are bit-identical whichever other
/// sequences share the call, so seeded sampling gives the same tokens in any batch arrangement.
///
/// - Important: not thread-safe (it reuses scratch buffers); one caller at a time. Calls block and use
///   up to ``threads`` cores.
public final class ServingModel {
    /// The model's shape.
    public let config: LlamaConfig
    /// The format of the block linear layers.
    public let format: ServingFormat
    /// Threads each matrix product may use.
    public var threads = 2
    /// How the stores this model makes for itself (``logits(_:)``, the batched sampler) keep keys and
    /// values; stores passed to ``extend(_:)`` keep their own.
    public var keyValuePrecision = KVPrecision.float16
    /// Bytes of the packed block weights (with scales).
    public let linearBytes: Int

    let embed: [Float]
    let finalNorm: [Float]
    let lmHead: QuantizedLinear
    let layers: [Layer]
    let cosTable: [Float]
    let sinTable: [Float]
    let workspace = Workspace()

    /// The block linear layers of one transformer layer (projections that read the same input
    /// fused into one matrix when the format scales per row, so one call computes them).
    struct Layer {
        var inputNorm: [Float]
        var postNorm: [Float]
        var qkv: Projection
        var o: QuantizedLinear
        var gateUp: Projection
        var down: QuantizedLinear
    }

    /// Linear layers reading the same input whose outputs sit side by side.
    struct Projection {
        /// One fused layer, or the parts in output order.
        var parts: [QuantizedLinear]
        /// Total output width.
        var width: Int

        init(_ matrices: [PackedMatrix], formats: [QuantFormat], zeroSkipping: Bool = false) {
            width = matrices.reduce(0) { $0 + $1.outFeatures }
            if Set(formats).count == 1, let fused = Self.fuse(matrices) {
                parts = [QuantizedLinear(packed: fused, format: formats[0], zeroSkipping: zeroSkipping)]
            } else {
                parts = zip(matrices, formats).map {
                    QuantizedLinear(packed: $0, format: $1, zeroSkipping: zeroSkipping)
                }
            }
        }

        /// The matrices stacked row-wise, when their scales are per row (or absent).
        static func fuse(_ m: [PackedMatrix]) -> PackedMatrix? {
            guard let first = m.first, m.count > 1, first.layout != .ternary2Bit,
                m.allSatisfy({ $0.layout == first.layout && $0.inFeatures == first.inFeatures })
            else { return m.count == 1 ? m[0] : nil }
            return PackedMatrix(
                layout: first.layout, outFeatures: m.reduce(0) { $0 + $1.outFeatures }, inFeatures: first.inFeatures,
                groupsPerRow: first.groupsPerRow, bytes: m.flatMap(\.bytes), scales: m.flatMap(\.scales))
        }

        /// `out[t] = [part₀(x[t]), part₁(x[t]), …]` for `tokens` rows.
        func forward(
            _ x: UnsafePointer<Float>, tokens: Int, out: UnsafeMutablePointer<Float>,
            scratch: UnsafeMutablePointer<Float>, threads: Int
        ) {
            if parts.count == 1 {
                parts[0].forward(
                    x: UnsafeBufferPointer(start: x, count: tokens * parts[0].inFeatures), tokens: tokens,
                    into: UnsafeMutableBufferPointer(start: out, count: tokens * width), threads: threads)
                return
            }
            var column = 0
            for part in parts {
                let w = part.outFeatures
                part.forward(
                    x: UnsafeBufferPointer(start: x, count: tokens * part.inFeatures), tokens: tokens,
                    into: UnsafeMutableBufferPointer(start: scratch, count: tokens * w), threads: threads)
                for t in 0..<tokens { (out + t * width + column).update(from: scratch + t * w, count: w) }
                column += w
            }
        }
    }

    /// Builds the model from validated weights.
    public init(weights: ServingWeights) throws(ServingError) {
        try weights.validate()
        let c = weights.config
        config = c
        format = weights.format
        linearBytes = weights.linearBytes
        embed = weights.floats["model.embed_tokens.weight"]!
        finalNorm = weights.floats["model.norm.weight"]!
        let head = c.tieWordEmbeddings ? embed : weights.floats["lm_head.weight"]!
        lmHead = QuantizedLinear(weights: head, outFeatures: c.vocabSize, inFeatures: c.hiddenSize, format: .fp32)
        let f = weights.format
        let sparseDown = f.isTernary && c.hiddenAct == .reluSquaredGLU
        layers = (0..<c.numHiddenLayers).map { l in
            func m(_ role: LinearRole) -> PackedMatrix { weights.packed[role.tensorName(layer: l)]! }
            return Layer(
                inputNorm: weights.floats["model.layers.\(l).input_layernorm.weight"]!,
                postNorm: weights.floats["model.layers.\(l).post_attention_layernorm.weight"]!,
                qkv: Projection(
                    [m(.q), m(.k), m(.v)], formats: [.q, .k, .v].map { f.linearFormat(for: $0) }),
                o: QuantizedLinear(packed: m(.o), format: f.linearFormat(for: .o)),
                gateUp: Projection([m(.gate), m(.up)], formats: [.gate, .up].map { f.linearFormat(for: $0) }),
                down: QuantizedLinear(packed: m(.down), format: f.linearFormat(for: .down), zeroSkipping: sparseDown))
        }
        // The rotary table exactly as QuorumModel's (HF's fp32-rounded inverse frequencies, angles in Double).
        let half = c.headDim / 2
        let positions = c.maxPositionEmbeddings
        var cosines = [Float](repeating: 0, count: positions * half)
        var sines = cosines
        for i in 0..<half {
            let invFreq = Double(Float(1 / Math.pow(c.ropeTheta, Double(2 * i) / Double(c.headDim))))
            for p in 0..<positions {
                let angle = Double(p) * invFreq
                cosines[p * half + i] = Float(Math.cos(angle))
                sines[p * half + i] = Float(Math.sin(angle))
            }
        }
        cosTable = cosines
        sinTable = sines
    }

    /// Quantizes a trained fp32 model to `format`.
    public convenience init(model: LlamaModel<Float>, format: ServingFormat) throws(ServingError) {
        try self.init(weights: try ServingWeights(model: model, format: format))
    }

    /// Bytes a decode step reads per sequence batch: the packed block weights, the fp32 LM head and the norms.
    public var weightBytesPerStep: Int {
        linearBytes + 4 * (config.vocabSize * config.hiddenSize + (2 * config.numHiddenLayers + 1) * config.hiddenSize)
    }

    // MARK: forward

    /// Appends each request's tokens to its store and returns, per request, the logits after its
    /// last token.
    public func extend(_ requests: [ExtendRequest]) -> [[Float]] {
        let v = config.vocabSize
        let (pointer, _) = run(requests, allRows: false)
        return (0..<requests.count).map { Array(UnsafeBufferPointer(start: pointer + $0 * v, count: v)) }
    }

    /// Logits of every position of each sequence (`count × vocab`, row-major), run from scratch.
    public func logits(_ sequences: [[Int]]) -> [[Float]] {
        let v = config.vocabSize
        let requests = sequences.map {
            ExtendRequest(
                store: KVStore(config: config, capacity: max($0.count, 1), precision: keyValuePrecision), tokens: $0)
        }
        let (pointer, _) = run(requests, allRows: true)
        var out: [[Float]] = []
        var row = 0
        for s in sequences {
            out.append(Array(UnsafeBufferPointer(start: pointer + row * v, count: s.count * v)))
            row += s.count
        }
        return out
    }

    /// One attention span: a request's rows in the packed buffers.
    struct Span {
        var firstRow: Int
        var rows: Int
        var prefix: KVStore?
        var prefixLength: Int
        var store: KVStore
        var start: Int
    }

    /// The forward pass over all requests' rows; returns the workspace's logits (`requests × vocab`, or
    /// `rows × vocab` with `allRows`).
    func run(_ requests: [ExtendRequest], allRows: Bool) -> (UnsafeMutablePointer<Float>, Int) {
        let c = config
        var tokens: [Int32] = []
        var positions: [Int32] = []
        var spans: [Span] = []
        precondition(
            Set(requests.map { ObjectIdentifier($0.store) }).count == requests.count,
            "a KV store appears twice in one extend call")
        for r in requests {
            precondition(!r.tokens.isEmpty, "extend needs at least one token per sequence")
            let prefixLength = r.prefix?.length ?? 0
            let start = r.store.length
            precondition(start + r.tokens.count <= r.store.capacity, "the KV store is full")
            precondition(
                prefixLength + start + r.tokens.count <= c.maxPositionEmbeddings,
                "the sequence is longer than max_position_embeddings")
            precondition(r.prefix !== r.store, "a store cannot be its own prefix")
            precondition(
                r.prefix.map { $0.precision == r.store.precision } ?? true,
                "a store and its prefix must keep keys and values in the same precision")
            spans.append(
                Span(
                    firstRow: tokens.count, rows: r.tokens.count, prefix: r.prefix, prefixLength: prefixLength,
                    store: r.store, start: start))
            for (i, token) in r.tokens.enumerated() {
                precondition(token >= 0 && token < c.vocabSize, "token \(token) is outside the vocabulary")
                tokens.append(Int32(token))
                positions.append(Int32(prefixLength + start + i))
            }
        }
        let n = tokens.count
        let ws = workspace
        ws.reserve(config: c, rows: n, qkvWidth: layers.first?.qkv.width ?? 0)
        let d = c.hiddenSize
        let x = ws.x.pointer
        for (r, token) in tokens.enumerated() {
            embed.withUnsafeBufferPointer { (x + r * d).update(from: $0.baseAddress! + Int(token) * d, count: d) }
        }
        for l in 0..<layers.count {
            layerForward(l, rows: n, positions: positions, spans: spans)
        }
        for (i, span) in spans.enumerated() { requests[i].store.length = span.start + span.rows }
        // Final norm and LM head on the rows that need logits.
        let outRows: [Int] = allRows ? Array(0..<n) : spans.map { $0.firstRow + $0.rows - 1 }
        let b = outRows.count
        let normed = ws.xn.pointer
        finalNorm.withUnsafeBufferPointer { w in
            for (i, r) in outRows.enumerated() {
                rmsNorm(normed + i * d, x: x + r * d, weight: w.baseAddress!, dim: d, eps: Float(c.rmsNormEps))
            }
        }
        ws.reserveLogits(b * c.vocabSize)
        lmHead.forward(
            x: UnsafeBufferPointer(start: normed, count: b * d), tokens: b,
            into: UnsafeMutableBufferPointer(start: ws.logits.pointer, count: b * c.vocabSize), threads: threads)
        return (ws.logits.pointer, b)
    }

    /// `y = x / sqrt(mean(x²) + ε) ⊙ w` (the same arithmetic as QuorumModel's RMSNorm).
    @inline(__always)
    func rmsNorm(
        _ y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, dim: Int, eps: Float
    ) {
        let s = 1 / (Vector.dot(x, x, count: dim) / Float(dim) + eps).squareRoot()
        for j in 0..<dim { y[j] = x[j] * s * weight[j] }
    }

    /// One block on the workspace's `x` (in place): `x += o(attn(norm1(x)))`, `x += down(glu(norm2(x)))`.
    func layerForward(_ l: Int, rows n: Int, positions: [Int32], spans: [Span]) {
        let c = config
        let layer = layers[l]
        let ws = workspace
        let d = c.hiddenSize
        let f = c.intermediateSize
        let qd = c.queryDim
        let kvd = c.keyValueDim
        let width = layer.qkv.width
        let eps = Float(c.rmsNormEps)
        let x = ws.x.pointer
        let xn = ws.xn.pointer
        layer.inputNorm.withUnsafeBufferPointer { w in
            for r in 0..<n { rmsNorm(xn + r * d, x: x + r * d, weight: w.baseAddress!, dim: d, eps: eps) }
        }
        let qkv = ws.qkv.pointer
        layer.qkv.forward(xn, tokens: n, out: qkv, scratch: ws.scratch.pointer, threads: threads)
        // Rotary embedding on q and k, then k and v into the stores.
        let half = c.headDim / 2
        cosTable.withUnsafeBufferPointer { cosBuffer in
            sinTable.withUnsafeBufferPointer { sinBuffer in
                for r in 0..<n {
                    let cs = cosBuffer.baseAddress! + Int(positions[r]) * half
                    let sn = sinBuffer.baseAddress! + Int(positions[r]) * half
                    let row = qkv + r * width
                    for h in 0..<(c.numAttentionHeads + c.numKeyValueHeads) {
                        let v = row + h * c.headDim
                        for i in 0..<half {
                            let a = v[i]
                            let b = v[i + half]
                            v[i] = a * cs[i] - b * sn[i]
                            v[i + half] = b * cs[i] + a * sn[i]
                        }
                    }
                }
            }
        }
        let hd = c.headDim
        for span in spans {
            let store = span.store
            let capacity = store.capacity
            for i in 0..<span.rows {
                let row = qkv + (span.firstRow + i) * width
                for h in 0..<c.numKeyValueHeads {
                    let at = (h * capacity + span.start + i) * hd
                    store.write(store.keys[l], at: at, from: row + qd + h * hd, count: hd)
                    store.write(store.values[l], at: at, from: row + qd + kvd + h * hd, count: hd)
                }
            }
        }
        attention(l, spans: spans, qkv: qkv, width: width, out: ws.attn.pointer)
        let tmp = ws.tmp.pointer
        layer.o.forward(
            x: UnsafeBufferPointer(start: ws.attn.pointer, count: n * qd), tokens: n,
            into: UnsafeMutableBufferPointer(start: tmp, count: n * d), threads: threads)
        Vector.axpy(1, tmp, x, count: n * d)
        layer.postNorm.withUnsafeBufferPointer { w in
            for r in 0..<n { rmsNorm(xn + r * d, x: x + r * d, weight: w.baseAddress!, dim: d, eps: eps) }
        }
        let gu = ws.gateUp.pointer
        layer.gateUp.forward(xn, tokens: n, out: gu, scratch: ws.scratch.pointer, threads: threads)
        let h = ws.h.pointer
        for r in 0..<n {
            let g = gu + r * 2 * f
            let u = g + f
            let hr = h + r * f
            switch c.hiddenAct {
            case .swiGLU:
                // h = g·σ(g)·u with e^(−g) computed first, as QuorumModel's gluForward does.
                Vector.exp(g, scale: -1, shift: 0, hr, count: f)
                for i in 0..<f { hr[i] = g[i] / (1 + hr[i]) * u[i] }
            case .reluSquaredGLU:
                for i in 0..<f {
                    let a = max(g[i], 0)
                    hr[i] = a * a * u[i]
                }
            }
        }
        layer.down.forward(
            x: UnsafeBufferPointer(start: h, count: n * f), tokens: n,
            into: UnsafeMutableBufferPointer(start: tmp, count: n * d), threads: threads)
        Vector.axpy(1, tmp, x, count: n * d)
    }

    /// Causal grouped-query attention of every span's rows over its prefix and its own positions:
    /// `out_i = Σ_j softmax_j(q_i·k_j/√d) v_j`, keys in position order (prefix first), so a row's
    /// result is the same whether its prompt is shared or its own.
    func attention(
        _ l: Int, spans: [Span], qkv: UnsafeMutablePointer<Float>, width: Int, out: UnsafeMutablePointer<Float>
    ) {
        let c = config
        let heads = c.numAttentionHeads
        let hd = c.headDim
        let qd = c.queryDim
        let group = heads / c.numKeyValueHeads
        let scale = 1 / Float(hd).squareRoot()
        let longest = spans.map { $0.prefixLength + $0.start + $0.rows }.max() ?? 0
        let work = spans.reduce(0) { $0 + $1.rows * ($1.prefixLength + $1.start + $1.rows) } * heads * hd
        let tasks = spans.count * heads
        let scratch = workspace.scores(count: (threads + tasks) * longest)
        // Tasks run head-major (every sequence of head 0, then of head 1, …), so sequences that share a
        // prompt read its keys and values for a head one after another, while they are still in cache.
        let body = { (task: Int) in
            let span = spans[task % spans.count]
            let h = task / spans.count
            let kvh = h / group
            let scores = scratch + task * longest
            let p = span.prefixLength
            let own = span.store
            let ownOffset = kvh * own.capacity * hd
            let prefixOffset = span.prefix.map { kvh * $0.capacity * hd } ?? 0
            // Element `offset` of a layer's keys or values (a store and its prefix share the precision).
            func at(_ base: UnsafeMutableRawPointer, _ offset: Int) -> UnsafeRawPointer {
                UnsafeRawPointer(base + offset * own.precision.bytes)
            }
            for i in 0..<span.rows {
                let row = span.firstRow + i
                let query = qkv + row * width + h * hd
                let output = out + row * qd + h * hd
                // Prefix keys first, then the sequence's own up to this row (causal), in position order.
                Kernels.attend(
                    query: query, headDim: hd, scale: scale, halfPrecision: own.precision == .float16,
                    keys1: span.prefix.map { at($0.keys[l], prefixOffset) },
                    values1: span.prefix.map { at($0.values[l], prefixOffset) }, count1: p,
                    keys2: at(own.keys[l], ownOffset), values2: at(own.values[l], ownOffset),
                    count2: span.start + i + 1, stride: hd, scores: scores, out: output)
            }
        }
        // Tasks (head, sequence) on the kernels' pool; ~a microsecond of hand-off, so even one decoding
        // sequence's eight heads are worth splitting.
        Kernels.parallel(tasks, work: 8 * work, threads: threads, minimumChunk: 1) { range in
            for t in range { body(t) }
        }
    }
}

/// Scratch buffers of the forward pass, grown on demand and reused.
final class Workspace {
    var rows = 0
    var x = Buffer<Float>(count: 0)
    var xn = Buffer<Float>(count: 0)
    var qkv = Buffer<Float>(count: 0)
    var attn = Buffer<Float>(count: 0)
    var tmp = Buffer<Float>(count: 0)
    var gateUp = Buffer<Float>(count: 0)
    var h = Buffer<Float>(count: 0)
    var scratch = Buffer<Float>(count: 0)
    var logits = Buffer<Float>(count: 0)
    var scoreBuffer = Buffer<Float>(count: 0)

    func reserve(config c: LlamaConfig, rows n: Int, qkvWidth: Int) {
        guard n > rows else { return }
        let m = max(n, 2 * rows)
        rows = m
        x = Buffer(count: m * c.hiddenSize)
        xn = Buffer(count: m * c.hiddenSize)
        qkv = Buffer(count: m * qkvWidth)
        attn = Buffer(count: m * c.queryDim)
        tmp = Buffer(count: m * c.hiddenSize)
        gateUp = Buffer(count: m * 2 * c.intermediateSize)
        h = Buffer(count: m * c.intermediateSize)
        scratch = Buffer(count: m * max(c.intermediateSize, c.queryDim))
    }

    func reserveLogits(_ count: Int) {
        if logits.count < count { logits = Buffer(count: max(count, 2 * logits.count)) }
    }

    func scores(count: Int) -> UnsafeMutablePointer<Float> {
        if scoreBuffer.count < count { scoreBuffer = Buffer(count: max(count, 2 * scoreBuffer.count)) }
        return scoreBuffer.pointer
    }
}
