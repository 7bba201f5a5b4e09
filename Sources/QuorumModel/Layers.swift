import QuorumTensor
import QuorumCore

// Each layer's forward and hand-written backward, side by side, as plain functions over flat
// row-major buffers (rows = tokens). Backward functions ACCUMULATE into parameter gradients
// (`+=`), so gradient accumulation over micro-batches is just calling backward again; input
// gradients are written or accumulated as each function says.

/// A mutable raw buffer of elements.
typealias MP<T> = UnsafeMutablePointer<T>
/// A read-only raw buffer of elements.
typealias UP<T> = UnsafePointer<T>

/// Rows per parallel task for cheap row-wise kernels.
let rowChunk = 64

/// Runs `body(rowRange)` over `0..<rows` in parallel chunks.
@inline(__always)
func parallelRows(_ rows: Int, chunk: Int = rowChunk, _ body: (Range<Int>) -> Void) {
    let tasks = (rows + chunk - 1) / chunk
    parallelFor(tasks, serial: tasks < 2) { t in body(t * chunk..<min(rows, (t + 1) * chunk)) }
}

// MARK: - Token embedding

/// `out[r] = table[tokens[r]]`.
func embeddingForward<T: TensorScalar>(_ out: MP<T>, tokens: [Int32], table: UP<T>, dim: Int) {
    for (r, token) in tokens.enumerated() {
        (out + r * dim).update(from: table + Int(token) * dim, count: dim)
    }
}

/// `dTable[tokens[r]] += dOut[r]` (serial: a token may repeat).
func embeddingBackward<T: TensorScalar>(_ dTable: MP<T>, tokens: [Int32], dOut: UP<T>, dim: Int) {
    for (r, token) in tokens.enumerated() {
        Vector.axpy(1, dOut + r * dim, dTable + Int(token) * dim, count: dim)
    }
}

// MARK: - RMSNorm (Zhang & Sennrich 2019): y = x / sqrt(mean(x²) + ε) ⊙ w

/// `y[r] = x[r] · rstd[r] ⊙ w` with `rstd[r] = 1/sqrt(mean(x[r]²) + ε)` saved for backward.
func rmsNormForward<T: TensorScalar>(
    _ y: MP<T>, rstd: MP<T>, x: UP<T>, weight: UP<T>, rows: Int, dim: Int, eps: T
) {
    parallelRows(rows) { range in
        for r in range {
            let xr = x + r * dim
            let yr = y + r * dim
            let s = 1 / (Vector.dot(xr, xr, count: dim) / T(dim) + eps).squareRoot()
            rstd[r] = s
            for j in 0..<dim { yr[j] = xr[j] * s * weight[j] }
        }
    }
}

/// With g = dy ⊙ w: `dx += s·g − s³/n · x · (g·x)`, `dw += Σ_r dy ⊙ x · s`.
func rmsNormBackward<T: TensorScalar>(
    dx: MP<T>, dWeight: MP<T>, dy: UP<T>, x: UP<T>, weight: UP<T>, rstd: UP<T>, rows: Int, dim: Int
) {
    parallelRows(rows) { range in
        for r in range {
            let xr = x + r * dim
            let dyr = dy + r * dim
            let dxr = dx + r * dim
            let s = rstd[r]
            var gx: T = 0
            for j in 0..<dim { gx += dyr[j] * weight[j] * xr[j] }
            let c = s * s * s * gx / T(dim)
            for j in 0..<dim { dxr[j] += s * dyr[j] * weight[j] - c * xr[j] }
        }
    }
    for r in 0..<rows {
        let xr = x + r * dim
        let dyr = dy + r * dim
        let s = rstd[r]
        for j in 0..<dim { dWeight[j] += dyr[j] * xr[j] * s }
    }
}

// MARK: - Linear (no bias): y = x Wᵀ, W is [out, in] as Hugging Face stores it

/// `y = x Wᵀ` for `rows` rows (OpenBLAS).
func linearForward<T: TensorScalar>(_ y: MP<T>, x: UP<T>, weight: UP<T>, rows: Int, inDim: Int, outDim: Int) {
    gemm(transB: true, m: rows, n: outDim, k: inDim, a: x, lda: inDim, b: weight, ldb: inDim, c: y, ldc: outDim)
}

/// `dx (=, or += when accumulate) dy W` and `dW += dyᵀ x`.
func linearBackward<T: TensorScalar>(
    dx: MP<T>?, dWeight: MP<T>, dy: UP<T>, x: UP<T>, weight: UP<T>, rows: Int, inDim: Int, outDim: Int,
    accumulate: Bool = false
) {
    if let dx {
        gemm(
            m: rows, n: inDim, k: outDim, a: dy, lda: outDim, b: weight, ldb: inDim, beta: accumulate ? 1 : 0,
            c: dx, ldc: inDim)
    }
    gemm(
        transA: true, m: outDim, n: inDim, k: rows, a: dy, lda: outDim, b: x, ldb: inDim, beta: 1, c: dWeight,
        ldc: inDim)
}

// MARK: - Rotary position embedding (Su et al. 2021, RoFormer eq. 34), HF rotate_half layout

/// cos/sin of `pos · θ^(−2i/d)` for every position and pair `i < d/2`, computed in Double.
struct RopeTable<T: TensorScalar> {
    /// Half the head width: pairs are `(i, i + half)`.
    let half: Int
    /// `cos[pos · half + i]`.
    let cos: [T]
    /// `sin[pos · half + i]`.
    let sin: [T]

    init(headDim: Int, theta: Double, positions: Int) {
        half = headDim / 2
        var c = [T](repeating: 0, count: positions * half)
        var s = c
        for i in 0..<half {
            // HF computes the inverse frequency in fp32; rounding it the same way keeps logits within 1e-6.
            let invFreq = Double(Float(1 / Math.pow(theta, Double(2 * i) / Double(headDim))))
            for p in 0..<positions {
                let angle = Double(p) * invFreq
                c[p * half + i] = T(Math.cos(angle))
                s[p * half + i] = T(Math.sin(angle))
            }
        }
        cos = c
        sin = s
    }
}

/// Rotates every head of every row in place: `x' = x·cos + rotate_half(x)·sin`; with `inverse`,
/// applies the transpose rotation (which is the backward pass: R(θ)ᵀ = R(−θ)).
func applyRope<T: TensorScalar>(
    _ x: MP<T>, rows: Int, heads: Int, headDim: Int, positions: [Int32], table: RopeTable<T>, inverse: Bool = false
) {
    let half = table.half
    let stride = heads * headDim
    table.cos.withUnsafeBufferPointer { cosTable in
        table.sin.withUnsafeBufferPointer { sinTable in
            let cosBase = cosTable.baseAddress!
            let sinBase = sinTable.baseAddress!
            positions.withUnsafeBufferPointer { pos in
                parallelRows(rows) { range in
                    for r in range {
                        let c = cosBase + Int(pos[r]) * half
                        let s = sinBase + Int(pos[r]) * half
                        for h in 0..<heads {
                            let v = x + r * stride + h * headDim
                            for i in 0..<half {
                                let a = v[i]
                                let b = v[i + half]
                                let sn = inverse ? -s[i] : s[i]
                                v[i] = a * c[i] - b * sn
                                v[i + half] = b * c[i] + a * sn
                            }
                        }
                    }
                }
            }
        }
    }
}

// MARK: - Causal grouped-query attention: softmax(q kᵀ / √d) v (Vaswani et al. 2017 eq. 1; GQA, Ainslie et al. 2023)

/// Where one sequence's rows and keys live.
struct AttentionSpan {
    /// The sequence's first query row in the packed q / out buffers.
    var queryRow: Int
    /// Its number of query rows.
    var rows: Int
    /// Position of its first query row (the number of keys already cached before it).
    var start: Int
    /// Offset (in elements) of its key 0 in the k / v buffers; keys are `kvStride` apart.
    var keyOffset: Int
    /// Offset of its saved probabilities (`heads · rows · (start + rows)`), training only.
    var probOffset: Int
}

/// For every span and head: `out_i = Σ_{j ≤ start+i} softmax_j(q_i·k_j/√d) v_j`. Saves the
/// probabilities (row i, key j at `probs[probOffset + (h·rows + i)·keys + j]`) when `probs` is given.
///
/// Row-by-row with SIMD dot products, one parallel task per (span, head): the scalar reference of
/// ``attentionForward(out:q:k:v:probs:spans:heads:kvHeads:headDim:)``, and the faster choice when
/// every span has one row (decoding).
func attentionForwardRows<T: TensorScalar>(
    out: MP<T>, q: UP<T>, k: UP<T>, v: UP<T>, probs: MP<T>?, spans: [AttentionSpan],
    heads: Int, kvHeads: Int, headDim: Int
) {
    let qStride = heads * headDim
    let kvStride = kvHeads * headDim
    let group = heads / kvHeads
    let scale = 1 / T(headDim).squareRoot()
    parallelFor(spans.count * heads) { task in
        let span = spans[task / heads]
        let h = task % heads
        let kvh = h / group
        let keys = span.start + span.rows
        let scores = MP<T>.allocate(capacity: keys)
        defer { scores.deallocate() }
        let kBase = k + span.keyOffset + kvh * headDim
        let vBase = v + span.keyOffset + kvh * headDim
        for i in 0..<span.rows {
            let qi = q + (span.queryRow + i) * qStride + h * headDim
            let oi = out + (span.queryRow + i) * qStride + h * headDim
            let visible = span.start + i + 1
            var maxScore = -T.infinity
            for j in 0..<visible {
                let s = Vector.dot(qi, kBase + j * kvStride, count: headDim) * scale
                scores[j] = s
                maxScore = max(maxScore, s)
            }
            var sum: T = 0
            for j in 0..<visible {
                let e = T.exp(scores[j] - maxScore)
                scores[j] = e
                sum += e
            }
            let inv = 1 / sum
            oi.update(repeating: 0, count: headDim)
            for j in 0..<visible {
                scores[j] *= inv
                Vector.axpy(scores[j], vBase + j * kvStride, oi, count: headDim)
            }
            if let probs {
                let row = probs + span.probOffset + (h * span.rows + i) * keys
                row.update(from: scores, count: visible)
                (row + visible).update(repeating: 0, count: keys - visible)
            }
        }
    }
}

/// Backward of ``attentionForwardRows(out:q:k:v:probs:spans:heads:kvHeads:headDim:)``: writes `dq`,
/// accumulates `dk`, `dv` (zero them first). With p the saved probabilities and dp_j = dO·v_j:
/// ds_j = p_j (dp_j − Σ_k p_k dp_k); dq = Σ ds_j k_j /√d; dk_j += ds_j q /√d; dv_j += p_j dO.
/// The scalar reference of ``attentionBackward(dq:dk:dv:dOut:q:k:v:probs:spans:heads:kvHeads:headDim:)``.
func attentionBackwardRows<T: TensorScalar>(
    dq: MP<T>, dk: MP<T>, dv: MP<T>, dOut: UP<T>, q: UP<T>, k: UP<T>, v: UP<T>, probs: UP<T>,
    spans: [AttentionSpan], heads: Int, kvHeads: Int, headDim: Int
) {
    let qStride = heads * headDim
    let kvStride = kvHeads * headDim
    let group = heads / kvHeads
    let scale = 1 / T(headDim).squareRoot()
    // One task per (span, kv head): dk/dv rows of a kv head are shared by its `group` query heads.
    parallelFor(spans.count * kvHeads) { task in
        let span = spans[task / kvHeads]
        let kvh = task % kvHeads
        let keys = span.start + span.rows
        let ds = MP<T>.allocate(capacity: keys)
        defer { ds.deallocate() }
        let kBase = k + span.keyOffset + kvh * headDim
        let vBase = v + span.keyOffset + kvh * headDim
        let dkBase = dk + span.keyOffset + kvh * headDim
        let dvBase = dv + span.keyOffset + kvh * headDim
        for h in kvh * group..<(kvh + 1) * group {
            for i in 0..<span.rows {
                let row = span.queryRow + i
                let qi = q + row * qStride + h * headDim
                let doi = dOut + row * qStride + h * headDim
                let dqi = dq + row * qStride + h * headDim
                let p = probs + span.probOffset + (h * span.rows + i) * keys
                let visible = span.start + i + 1
                var pdp: T = 0
                for j in 0..<visible {
                    let dp = Vector.dot(doi, vBase + j * kvStride, count: headDim)
                    ds[j] = dp
                    pdp += p[j] * dp
                }
                dqi.update(repeating: 0, count: headDim)
                for j in 0..<visible {
                    let g = p[j] * (ds[j] - pdp) * scale
                    Vector.axpy(g, kBase + j * kvStride, dqi, count: headDim)
                    Vector.axpy(g, qi, dkBase + j * kvStride, count: headDim)
                    Vector.axpy(p[j], doi, dvBase + j * kvStride, count: headDim)
                }
            }
        }
    }
}

/// The same attention as ``attentionForwardRows(out:q:k:v:probs:spans:heads:kvHeads:headDim:)``
/// with both products as OpenBLAS GEMMs per (span, head): S = Q Kᵀ/√d, causal softmax, O = P V.
/// Spans run one after another so that only one BLAS call is in flight (BLAS threads it).
/// `scratch` holds at least `max(rows · keys)` elements when `probs` is nil.
func attentionForward<T: TensorScalar>(
    out: MP<T>, q: UP<T>, k: UP<T>, v: UP<T>, probs: MP<T>?, spans: [AttentionSpan],
    heads: Int, kvHeads: Int, headDim: Int
) {
    let qStride = heads * headDim
    let kvStride = kvHeads * headDim
    let group = heads / kvHeads
    let scale = 1 / T(headDim).squareRoot()
    let largest = spans.map { $0.rows * ($0.start + $0.rows) }.max() ?? 0
    let scratch = probs == nil ? MP<T>.allocate(capacity: max(largest, 1)) : nil
    defer { scratch?.deallocate() }
    for span in spans {
        let keys = span.start + span.rows
        for h in 0..<heads {
            let kvh = h / group
            let p = probs.map { $0 + span.probOffset + h * span.rows * keys } ?? scratch!
            let qh = q + span.queryRow * qStride + h * headDim
            gemm(
                transB: true, m: span.rows, n: keys, k: headDim, alpha: scale, a: qh, lda: qStride,
                b: k + span.keyOffset + kvh * headDim, ldb: kvStride, c: p, ldc: keys)
            causalSoftmaxRows(p, rows: span.rows, keys: keys, start: span.start)
            gemm(
                m: span.rows, n: headDim, k: keys, a: p, lda: keys, b: v + span.keyOffset + kvh * headDim,
                ldb: kvStride,
                c: out + span.queryRow * qStride + h * headDim, ldc: qStride)
        }
    }
}

/// In place, row i of `p` (`rows × keys`): softmax over keys `0...start+i`, zeros after.
func causalSoftmaxRows<T: TensorScalar>(_ p: MP<T>, rows: Int, keys: Int, start: Int) {
    for i in 0..<rows {
        let row = p + i * keys
        let visible = start + i + 1
        let m = Vector.max(row, count: visible)
        T.exp(row, scale: 1, shift: -m, row, count: visible)
        let inv = 1 / Vector.sum(row, count: visible)
        for j in 0..<visible { row[j] *= inv }
        (row + visible).update(repeating: 0, count: keys - visible)
    }
}

/// Backward of ``attentionForward(out:q:k:v:probs:spans:heads:kvHeads:headDim:)`` with GEMMs per
/// (span, head): dP = dO Vᵀ; dS = P ⊙ (dP − rowsum(P ⊙ dP)); dQ = dS K/√d; dK += dSᵀ Q/√d; dV += Pᵀ dO.
/// Writes `dq`, accumulates `dk`, `dv` (zero them first).
func attentionBackward<T: TensorScalar>(
    dq: MP<T>, dk: MP<T>, dv: MP<T>, dOut: UP<T>, q: UP<T>, k: UP<T>, v: UP<T>, probs: UP<T>,
    spans: [AttentionSpan], heads: Int, kvHeads: Int, headDim: Int
) {
    let qStride = heads * headDim
    let kvStride = kvHeads * headDim
    let group = heads / kvHeads
    let scale = 1 / T(headDim).squareRoot()
    let largest = spans.map { $0.rows * ($0.start + $0.rows) }.max() ?? 0
    let ds = MP<T>.allocate(capacity: max(largest, 1))
    defer { ds.deallocate() }
    for span in spans {
        let keys = span.start + span.rows
        for h in 0..<heads {
            let kvh = h / group
            let p = probs + span.probOffset + h * span.rows * keys
            let rowOffset = span.queryRow * qStride + h * headDim
            let kOffset = span.keyOffset + kvh * headDim
            gemm(
                transB: true, m: span.rows, n: keys, k: headDim, a: dOut + rowOffset, lda: qStride, b: v + kOffset,
                ldb: kvStride, c: ds, ldc: keys)
            for i in 0..<span.rows {
                let pr = p + i * keys
                let dr = ds + i * keys
                let visible = span.start + i + 1
                var pdp: T = 0
                for j in 0..<visible { pdp += pr[j] * dr[j] }
                for j in 0..<visible { dr[j] = pr[j] * (dr[j] - pdp) }
                (dr + visible).update(repeating: 0, count: keys - visible)
            }
            gemm(
                m: span.rows, n: headDim, k: keys, alpha: scale, a: ds, lda: keys, b: k + kOffset, ldb: kvStride,
                c: dq + rowOffset, ldc: qStride)
            gemm(
                transA: true, m: keys, n: headDim, k: span.rows, alpha: scale, a: ds, lda: keys, b: q + rowOffset,
                ldb: qStride, beta: 1, c: dk + kOffset, ldc: kvStride)
            gemm(
                transA: true, m: keys, n: headDim, k: span.rows, a: p, lda: keys, b: dOut + rowOffset, ldb: qStride,
                beta: 1, c: dv + kOffset, ldc: kvStride)
        }
    }
}

// MARK: - Gated feed-forward activations: h = act(gate) ⊙ up

/// SwiGLU: `h = silu(g) ⊙ u` with silu(g) = g·σ(g); ReLU²GLU: `h = relu(g)² ⊙ u`.
func gluForward<T: TensorScalar>(_ h: MP<T>, gate: UP<T>, up: UP<T>, count: Int, kind: FeedForwardKind) {
    parallelRows(count, chunk: 16384) { range in
        switch kind {
        case .swiGLU:
            // h = g·σ(g)·u with σ(g) = 1/(1 + e^(−g)); e^(−g) lands in h first.
            T.exp(gate + range.lowerBound, scale: -1, shift: 0, h + range.lowerBound, count: range.count)
            for i in range { h[i] = gate[i] / (1 + h[i]) * up[i] }
        case .reluSquaredGLU:
            for i in range {
                let r = max(gate[i], 0)
                h[i] = r * r * up[i]
            }
        }
    }
}

/// `dUp = dh ⊙ act(g)`, `dGate = dh ⊙ u ⊙ act'(g)`; silu' = σ(1 + g(1 − σ)), (relu²)' = 2·relu.
func gluBackward<T: TensorScalar>(
    dGate: MP<T>, dUp: MP<T>, dh: UP<T>, gate: UP<T>, up: UP<T>, count: Int, kind: FeedForwardKind
) {
    parallelRows(count, chunk: 16384) { range in
        switch kind {
        case .swiGLU:
            // e^(−g) lands in dGate first.
            T.exp(gate + range.lowerBound, scale: -1, shift: 0, dGate + range.lowerBound, count: range.count)
            for i in range {
                let g = gate[i]
                let s = 1 / (1 + dGate[i])
                dUp[i] = dh[i] * g * s
                dGate[i] = dh[i] * up[i] * s * (1 + g * (1 - s))
            }
        case .reluSquaredGLU:
            for i in range {
                let r = max(gate[i], 0)
                dUp[i] = dh[i] * r * r
                dGate[i] = dh[i] * up[i] * 2 * r
            }
        }
    }
}

// MARK: - Token log-probabilities: log softmax(logits)[target]

/// For every row: `lse = log Σ exp(logits)` and `logp = logits[target] − lse` (0 where target < 0).
func tokenLogProbForward<T: TensorScalar>(
    logp: MP<T>, lse: MP<T>, logits: UP<T>, targets: [Int32], rows: Int, vocab: Int
) {
    targets.withUnsafeBufferPointer { targets in
        parallelRows(rows, chunk: 8) { range in
            let e = MP<T>.allocate(capacity: vocab)
            defer { e.deallocate() }
            for r in range {
                let l = logits + r * vocab
                let m = Vector.max(l, count: vocab)
                T.exp(l, scale: 1, shift: -m, e, count: vocab)
                let z = m + T.log(Vector.sum(e, count: vocab))
                lse[r] = z
                let t = Int(targets[r])
                logp[r] = t >= 0 ? l[t] - z : 0
            }
        }
    }
}

/// Given `dLogp[r]` = ∂L/∂logp_r: `dLogits[r, j] = dLogp[r] · (1[j = target] − softmax_j)`.
func tokenLogProbBackward<T: TensorScalar>(
    dLogits: MP<T>, dLogp: [T], logits: UP<T>, lse: UP<T>, targets: [Int32], rows: Int, vocab: Int
) {
    targets.withUnsafeBufferPointer { targets in
        dLogp.withUnsafeBufferPointer { dLogp in
            parallelRows(rows, chunk: 8) { range in
                for r in range {
                    let d = dLogits + r * vocab
                    let t = Int(targets[r])
                    let g = dLogp[r]
                    if t < 0 || g == 0 {
                        d.update(repeating: 0, count: vocab)
                        continue
                    }
                    T.exp(logits + r * vocab, scale: 1, shift: -lse[r], d, count: vocab)
                    for j in 0..<vocab { d[j] *= -g }
                    d[t] += g
                }
            }
        }
    }
}

/// `a += b` elementwise.
func addInPlace<T: TensorScalar>(_ a: MP<T>, _ b: UP<T>, count: Int) {
    parallelRows(count, chunk: 65536) { range in
        Vector.axpy(1, b + range.lowerBound, a + range.lowerBound, count: range.count)
    }
}
