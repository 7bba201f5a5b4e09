import QuorumTensor
import QuorumCore

// Quantization-aware training for ternary models: BitNet b1.58 and BitNet a4.8 (Wang, Ma, Wei,
// arXiv 2411.04965; docs/papers.md §2). Only the seven linear layers inside each transformer block are
// quantized; embeddings, norms and the LM head stay in floating point. The forward pass multiplies
// quantize-dequantize values (ternary weights, quantized activations); the backward pass treats
// every quantizer as the identity (straight-through estimator), so the gradients land on the
// floating-point latent weights and flow on to the activations unchanged.

/// How a model's block linears are quantized; written to `config.json` as the `quantization` section.
public enum QuantizationScheme: String, Sendable, Codable, CaseIterable {
    /// BitNet b1.58: ternary absmean weights (one scale per tensor), INT8 absmax activations (one
    /// scale per token) into every block linear. Stage 1 of the a4.8 recipe.
    case b158 = "b1.58"
    /// BitNet a4.8: ternary weights; INT4 absmean activations into q/k/v and gate/up; top-50 % by |x|
    /// per token, then INT8, into o_proj; INT8 into down_proj. Needs the ReLU²GLU FFN (`relu2`).
    case a48 = "a4.8"

    /// The quantizer of the input of q/k/v (attention) and of gate/up (FFN).
    var blockInput: QATActivationQuantizer { self == .a48 ? .int4Absmean : .int8Absmax }
    /// The quantizer of the input of o_proj.
    var outputProjectionInput: QATActivationQuantizer { self == .a48 ? .topHalfInt8 : .int8Absmax }
    /// The quantizer of the input of down_proj.
    var downProjectionInput: QATActivationQuantizer { .int8Absmax }

    /// A one-line description of the scheme, for records and `config.json`.
    public var summary: String {
        switch self {
        case .b158:
            "weights ternary absmean per tensor; activations INT8 absmax per token into every block linear"
        case .a48:
            "weights ternary absmean per tensor; activations INT4 absmean per token into q/k/v and gate/up, "
                + "top-50% by |x| per token then INT8 absmax into o_proj, INT8 absmax into down_proj"
        }
    }
}

/// A per-token activation quantizer.
enum QATActivationQuantizer: Sendable {
    /// γ = max|x|; x̂ = (γ/127) · clamp(round(127·x/(γ+ε)), −128, 127).
    case int8Absmax
    /// β = mean|x|; x̂ = (β/√7) · clamp(round(√7·x/(β+ε)), −8, 7).
    case int4Absmean
    /// Keep the ⌊n/2⌋ entries of largest |x| (ties: lower index first), zero the rest, then INT8 absmax.
    case topHalfInt8
}

/// The quantize-dequantize functions of QAT, generic over the scalar type. For `Float` they compute
/// exactly what `QuorumQuant.Quantize` computes for serving (same ε, same operation order, the same
/// lane order in the INT4 mean; a test checks bit-equality), so a model runs identically in training
/// and serving. Unlike the serving quantizers they never trap: a NaN input stays NaN (the loss shows
/// it) instead of crashing an integer conversion.
enum FakeQuant {
    /// ε of the BitNet formulas (QuorumQuant's `Quantize.epsilon`).
    static let epsilon = 1e-5

    /// Rounds half to even and clamps to `[lo, hi]`, staying in floating point (NaN stays NaN).
    @inline(__always)
    static func code<T: TensorScalar>(_ v: T, _ lo: T, _ hi: T) -> T {
        min(max(v.rounded(.toNearestOrEven), lo), hi)
    }

    /// INT8 absmax of one token, in place.
    static func int8Absmax<T: TensorScalar>(_ x: MP<T>, count: Int) {
        var gamma: T = 0
        for i in 0..<count { gamma = max(gamma, x[i].magnitude) }
        let factor = 127 / (gamma + T(epsilon))
        let scale = gamma / 127
        for i in 0..<count { x[i] = code(x[i] * factor, -128, 127) * scale }
    }

    /// INT4 absmean of one token, in place.
    static func int4Absmean<T: TensorScalar>(_ x: MP<T>, count: Int) {
        let root7 = T(7).squareRoot()
        let beta = count == 0 ? 0 : absoluteSum(x, count: count) / T(count)
        let factor = root7 / (beta + T(epsilon))
        let scale = beta / root7
        for i in 0..<count { x[i] = code(x[i] * factor, -8, 7) * scale }
    }

    /// Σ|x| in QuorumQuant's fixed order: eight interleaved lanes combined as
    /// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the last `count % 8` values in order.
    static func absoluteSum<T: TensorScalar>(_ x: UP<T>, count: Int) -> T {
        var l: (T, T, T, T, T, T, T, T) = (0, 0, 0, 0, 0, 0, 0, 0)
        let body = count / 8 * 8
        var i = 0
        while i < body {
            l.0 += x[i].magnitude
            l.1 += x[i + 1].magnitude
            l.2 += x[i + 2].magnitude
            l.3 += x[i + 3].magnitude
            l.4 += x[i + 4].magnitude
            l.5 += x[i + 5].magnitude
            l.6 += x[i + 6].magnitude
            l.7 += x[i + 7].magnitude
            i += 8
        }
        var sum = ((l.0 + l.4) + (l.2 + l.6)) + ((l.1 + l.5) + (l.3 + l.7))
        for j in body..<count { sum += x[j].magnitude }
        return sum
    }

    /// Relative width of a tie at the top-K threshold (see ``topHalf(_:count:scratch:)``).
    static let tieTolerance = 1e-5

    /// Zeroes all but the ⌊n/2⌋ entries of largest |x| of one token, in place; ties at the threshold
    /// keep the lower index first (QuorumQuant's `topHalfMask`). `scratch` holds `count` elements.
    ///
    /// Magnitudes within `tieTolerance` (relative) of the threshold count as ties. Under a4.8 the
    /// o_proj input is often a lattice of exactly equal magnitudes (at a sequence's first token it is
    /// `v`, a sum of INT4 codes times ternary codes), which floating-point GEMMs reproduce only to
    /// rounding noise that depends on the batch shape; without the tolerance that noise, not the index,
    /// would pick the survivors, and decoding with the KV cache would disagree with the full forward.
    /// A serving kernel that computes those values exactly in integers picks the same entries.
    static func topHalf<T: TensorScalar>(_ x: MP<T>, count: Int, scratch: MP<T>) {
        let keep = count / 2
        guard keep > 0 else {
            x.update(repeating: 0, count: count)
            return
        }
        for i in 0..<count { scratch[i] = x[i].magnitude }
        var sorted = UnsafeMutableBufferPointer(start: scratch, count: count)
        sorted.sort()
        let threshold = sorted[count - keep]
        let band = threshold * T(tieTolerance)
        // Strictly above the tie band: kept (fewer than `keep` of them). In the band: kept in index order.
        var kept = 0
        for i in 0..<count where x[i].magnitude > threshold + band { kept += 1 }
        for i in 0..<count {
            let m = x[i].magnitude
            if m > threshold + band { continue }
            if m >= threshold - band && kept < keep {
                kept += 1
            } else {
                x[i] = 0
            }
        }
    }

    /// Applies `quantizer` to every row of `x` (`rows × dim`), in place.
    static func apply<T: TensorScalar>(_ quantizer: QATActivationQuantizer, _ x: MP<T>, rows: Int, dim: Int) {
        parallelRows(rows) { range in
            switch quantizer {
            case .int8Absmax:
                for r in range { int8Absmax(x + r * dim, count: dim) }
            case .int4Absmean:
                for r in range { int4Absmean(x + r * dim, count: dim) }
            case .topHalfInt8:
                let scratch = MP<T>.allocate(capacity: dim)
                defer { scratch.deallocate() }
                for r in range {
                    topHalf(x + r * dim, count: dim, scratch: scratch)
                    int8Absmax(x + r * dim, count: dim)
                }
            }
        }
    }

    /// Absmean ternary quantize-dequantize of one tensor: α = mean|W| (summed in Double, as
    /// QuorumQuant does), Ŵ = α · clamp(round(W/(α+ε)), −1, 1). Returns α.
    @discardableResult
    static func ternary<T: TensorScalar>(_ w: UP<T>, count: Int, into out: MP<T>) -> T {
        var sum = 0.0
        for i in 0..<count { sum += Double(w[i].magnitude) }
        let alpha = count == 0 ? 0 : T(sum / Double(count))
        let inverse = 1 / (alpha + T(epsilon))
        for i in 0..<count { out[i] = code(w[i] * inverse, -1, 1) * alpha }
        return alpha
    }
}

extension LlamaModel {
    /// The scheme the forward pass quantizes with, or `nil` for plain floating point.
    public var quantization: QuantizationScheme? { config.quantization }

    /// Switches quantization-aware training on (or off with `nil`), e.g. from stage 1 (b1.58) to
    /// stage 2 (a4.8) of the BitNet a4.8 recipe; the weights, and any optimizer state kept outside,
    /// carry over. The saved `config.json` records the scheme.
    ///
    /// - Throws: ``ModelError`` when the scheme does not fit the model (a4.8 needs `relu2`).
    public func setQuantization(_ scheme: QuantizationScheme?) throws(ModelError) {
        var changed = config
        changed.quantization = scheme
        try changed.validate()
        config = changed
        if scheme != nil && quantizedWeights == nil { quantizedWeights = Buffer(count: layout.count) }
        if scheme == nil { quantizedWeights = nil }
        invalidateQuantizedWeights()
    }

    /// Tells a quantizing model that ``parameters`` changed, so that the next forward pass
    /// re-quantizes the weights. ``AdamW/update(_:lr:)`` and weight loading call it; call it after
    /// writing ``parameters`` any other way.
    public func invalidateQuantizedWeights() { quantizedWeightsCurrent = false }

    /// The ternary (quantize-dequantize) copy of every block linear, made once per parameter change.
    func prepareQuantizedWeights() {
        guard let buffer = quantizedWeights, !quantizedWeightsCurrent else { return }
        let offsets = layout.layers.flatMap { [$0.q, $0.k, $0.v, $0.o, $0.gate, $0.up, $0.down] }
        let counts = layout.layers.flatMap { o in
            [o.q, o.k, o.v, o.o, o.gate, o.up, o.down].map { offset in
                layout.entries.first { $0.offset == offset }!.count
            }
        }
        parallelFor(offsets.count) { i in
            FakeQuant.ternary(w(offsets[i]), count: counts[i], into: buffer.pointer + offsets[i])
        }
        quantizedWeightsCurrent = true
    }

    /// The weight a block linear multiplies with: the ternary copy when quantizing, else the latent one.
    @inline(__always) func lw(_ offset: Int) -> UP<T> {
        if let q = quantizedWeights { return UP(q.pointer + offset) }
        return w(offset)
    }

    /// Quantizes a block linear's input rows in place (a no-op without quantization).
    @inline(__always) func quantizeInput(
        _ pick: (QuantizationScheme) -> QATActivationQuantizer, _ x: MP<T>, rows: Int, dim: Int
    ) {
        guard let scheme = config.quantization else { return }
        FakeQuant.apply(pick(scheme), x, rows: rows, dim: dim)
    }
}
