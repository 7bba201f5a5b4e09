import QuorumTensor
import Testing

@testable import QuorumModel

/// Every layer's hand-written backward against central finite differences, in Double.
/// Each check uses the scalar loss L = Σ r ⊙ y with a fixed random r, so ∂L/∂y = r.
@Suite("Layer backward vs finite differences (fp64)")
struct LayerGradientTests {
    static let tolerance = 1e-6

    @Test("token embedding")
    func embedding() {
        let vocab = 5
        let dim = 4
        let tokens: [Int32] = [3, 1, 3, 0]
        let table = gaussians(vocab * dim, seed: 1)
        let r = gaussians(tokens.count * dim, seed: 2)
        func loss(_ t: [Double]) -> Double {
            var y = [Double](repeating: 0, count: tokens.count * dim)
            embeddingForward(&y, tokens: tokens, table: t, dim: dim)
            return dotProduct(y, r)
        }
        var dTable = [Double](repeating: 0, count: table.count)
        embeddingBackward(&dTable, tokens: tokens, dOut: r, dim: dim)
        let err = relativeError(dTable, numericGradient(table, loss))
        reportValue("FD embedding err", err)
        #expect(err < Self.tolerance, "relative error \(err)")
    }

    @Test("RMSNorm, input and weight")
    func rmsNorm() {
        let rows = 3
        let dim = 6
        let x = gaussians(rows * dim, seed: 3)
        let wt = gaussians(dim, seed: 4).map { 1 + 0.3 * $0 }
        let r = gaussians(rows * dim, seed: 5)
        func forward(_ x: [Double], _ wt: [Double]) -> ([Double], [Double]) {
            var y = [Double](repeating: 0, count: rows * dim)
            var rstd = [Double](repeating: 0, count: rows)
            rmsNormForward(&y, rstd: &rstd, x: x, weight: wt, rows: rows, dim: dim, eps: 1e-5)
            return (y, rstd)
        }
        let rstd = forward(x, wt).1
        var dx = [Double](repeating: 0, count: x.count)
        var dw = [Double](repeating: 0, count: dim)
        rmsNormBackward(dx: &dx, dWeight: &dw, dy: r, x: x, weight: wt, rstd: rstd, rows: rows, dim: dim)
        let ex = relativeError(dx, numericGradient(x) { dotProduct(forward($0, wt).0, r) })
        let ew = relativeError(dw, numericGradient(wt) { dotProduct(forward(x, $0).0, r) })
        reportValue("FD rmsNorm ex", ex)
        #expect(ex < Self.tolerance, "dx relative error \(ex)")
        reportValue("FD rmsNorm ew", ew)
        #expect(ew < Self.tolerance, "dw relative error \(ew)")
    }

    @Test("linear layer, input and weight")
    func linear() {
        let rows = 4
        let inDim = 5
        let outDim = 3
        let x = gaussians(rows * inDim, seed: 6)
        let wt = gaussians(outDim * inDim, seed: 7)
        let r = gaussians(rows * outDim, seed: 8)
        func forward(_ x: [Double], _ wt: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: rows * outDim)
            linearForward(&y, x: x, weight: wt, rows: rows, inDim: inDim, outDim: outDim)
            return y
        }
        var dx = [Double](repeating: 0, count: x.count)
        var dw = [Double](repeating: 0, count: wt.count)
        linearBackward(dx: &dx, dWeight: &dw, dy: r, x: x, weight: wt, rows: rows, inDim: inDim, outDim: outDim)
        let ex = relativeError(dx, numericGradient(x) { dotProduct(forward($0, wt), r) })
        let ew = relativeError(dw, numericGradient(wt) { dotProduct(forward(x, $0), r) })
        reportValue("FD linear ex", ex)
        reportValue("FD linear ew", ew)
        #expect(ex < Self.tolerance)
        #expect(ew < Self.tolerance)
    }

    @Test("rotary embedding (HF rotate_half)")
    func rotary() {
        let rows = 4
        let heads = 2
        let headDim = 6
        let positions: [Int32] = [0, 1, 5, 9]
        let table = RopeTable<Double>(headDim: headDim, theta: 10_000, positions: 16)
        let x = gaussians(rows * heads * headDim, seed: 9)
        let r = gaussians(x.count, seed: 10)
        func forward(_ x: [Double]) -> [Double] {
            var y = x
            applyRope(&y, rows: rows, heads: heads, headDim: headDim, positions: positions, table: table)
            return y
        }
        var dx = r
        applyRope(&dx, rows: rows, heads: heads, headDim: headDim, positions: positions, table: table, inverse: true)
        let err = relativeError(dx, numericGradient(x) { dotProduct(forward($0), r) })
        reportValue("FD rope err", err)
        #expect(err < Self.tolerance, "relative error \(err)")
        // Position 0 is the identity; the rotation preserves norms.
        let y = forward(x)
        #expect(maxAbsDiff(Array(y[0..<heads * headDim]), Array(x[0..<heads * headDim])) < 1e-15)
        #expect(abs(dotProduct(y, y) - dotProduct(x, x)) < 1e-9)
    }

    @Test(
        "causal grouped-query attention, q, k and v (GEMM kernel and row reference)",
        arguments: [(4, 2, true), (2, 2, true), (4, 1, true), (4, 2, false), (4, 1, false)])
    func attention(heads: Int, kvHeads: Int, gemmKernel: Bool) {
        let headDim = 4
        let lengths = [3, 5]
        var spans: [AttentionSpan] = []
        var row = 0
        var probCount = 0
        for n in lengths {
            spans.append(
                AttentionSpan(
                    queryRow: row, rows: n, start: 0, keyOffset: row * kvHeads * headDim, probOffset: probCount))
            row += n
            probCount += heads * n * n
        }
        let rows = row
        let q = gaussians(rows * heads * headDim, seed: 11)
        let k = gaussians(rows * kvHeads * headDim, seed: 12)
        let v = gaussians(rows * kvHeads * headDim, seed: 13)
        let r = gaussians(rows * heads * headDim, seed: 14)
        func forward(_ q: [Double], _ k: [Double], _ v: [Double]) -> ([Double], [Double]) {
            var out = [Double](repeating: 0, count: rows * heads * headDim)
            var probs = [Double](repeating: 0, count: probCount)
            if gemmKernel {
                attentionForward(
                    out: &out, q: q, k: k, v: v, probs: &probs, spans: spans, heads: heads, kvHeads: kvHeads,
                    headDim: headDim)
            } else {
                attentionForwardRows(
                    out: &out, q: q, k: k, v: v, probs: &probs, spans: spans, heads: heads, kvHeads: kvHeads,
                    headDim: headDim)
            }
            return (out, probs)
        }
        let probs = forward(q, k, v).1
        var dq = [Double](repeating: 0, count: q.count)
        var dk = [Double](repeating: 0, count: k.count)
        var dv = [Double](repeating: 0, count: v.count)
        if gemmKernel {
            attentionBackward(
                dq: &dq, dk: &dk, dv: &dv, dOut: r, q: q, k: k, v: v, probs: probs, spans: spans, heads: heads,
                kvHeads: kvHeads, headDim: headDim)
        } else {
            attentionBackwardRows(
                dq: &dq, dk: &dk, dv: &dv, dOut: r, q: q, k: k, v: v, probs: probs, spans: spans, heads: heads,
                kvHeads: kvHeads, headDim: headDim)
        }
        let eq = relativeError(dq, numericGradient(q) { dotProduct(forward($0, k, v).0, r) })
        let ek = relativeError(dk, numericGradient(k) { dotProduct(forward(q, $0, v).0, r) })
        let ev = relativeError(dv, numericGradient(v) { dotProduct(forward(q, k, $0).0, r) })
        reportValue("FD attention \(heads)/\(kvHeads) gemm=\(gemmKernel) eq", eq)
        #expect(eq < Self.tolerance, "dq relative error \(eq)")
        reportValue("FD attention \(heads)/\(kvHeads) gemm=\(gemmKernel) ek", ek)
        #expect(ek < Self.tolerance, "dk relative error \(ek)")
        reportValue("FD attention \(heads)/\(kvHeads) gemm=\(gemmKernel) ev", ev)
        #expect(ev < Self.tolerance, "dv relative error \(ev)")
        // Causality: the first sequence's output does not depend on the second one's keys.
        var k2 = k
        k2[k2.count - 1] += 1
        let a = forward(q, k, v).0
        let b = forward(q, k2, v).0
        #expect(maxAbsDiff(Array(a[0..<3 * heads * headDim]), Array(b[0..<3 * heads * headDim])) == 0)
    }

    @Test("gated FFN activation", arguments: [FeedForwardKind.swiGLU, .reluSquaredGLU])
    func glu(kind: FeedForwardKind) {
        let n = 40
        // Keep gates away from 0, where relu² has its kink, so the differences are clean.
        let gate = gaussians(n, seed: 15).map { $0 + ($0 >= 0 ? 0.05 : -0.05) }
        let up = gaussians(n, seed: 16)
        let r = gaussians(n, seed: 17)
        func forward(_ g: [Double], _ u: [Double]) -> [Double] {
            var h = [Double](repeating: 0, count: n)
            gluForward(&h, gate: g, up: u, count: n, kind: kind)
            return h
        }
        var dg = [Double](repeating: 0, count: n)
        var du = [Double](repeating: 0, count: n)
        gluBackward(dGate: &dg, dUp: &du, dh: r, gate: gate, up: up, count: n, kind: kind)
        let eg = relativeError(dg, numericGradient(gate) { dotProduct(forward($0, up), r) })
        let eu = relativeError(du, numericGradient(up) { dotProduct(forward(gate, $0), r) })
        reportValue("FD glu \(kind) eg", eg)
        #expect(eg < Self.tolerance, "dgate relative error \(eg)")
        reportValue("FD glu \(kind) eu", eu)
        #expect(eu < Self.tolerance, "dup relative error \(eu)")
        if kind == .reluSquaredGLU {
            let h = forward(gate, up)
            for i in 0..<n where gate[i] < 0 { #expect(h[i] == 0) }
        }
    }

    @Test("log-softmax of the target token (LM head loss), masked rows ignored")
    func tokenLogProb() {
        let rows = 5
        let vocab = 7
        let targets: [Int32] = [3, -1, 0, 6, 2]
        let logits = gaussians(rows * vocab, seed: 18, std: 2)
        let weights = gaussians(rows, seed: 19)
        func forward(_ l: [Double]) -> ([Double], [Double]) {
            var logp = [Double](repeating: 0, count: rows)
            var lse = [Double](repeating: 0, count: rows)
            tokenLogProbForward(logp: &logp, lse: &lse, logits: l, targets: targets, rows: rows, vocab: vocab)
            return (logp, lse)
        }
        let (logp, lse) = forward(logits)
        #expect(logp[1] == 0)
        // Matches the definition log(exp(l_t) / Σ exp(l_j)).
        let row0 = Array(logits[0..<vocab])
        let direct = row0[3] - Math.log(row0.reduce(0) { $0 + Math.exp($1) })
        #expect(abs(logp[0] - direct) < 1e-12)
        var dLogits = [Double](repeating: 0, count: logits.count)
        tokenLogProbBackward(
            dLogits: &dLogits, dLogp: weights, logits: logits, lse: lse, targets: targets, rows: rows, vocab: vocab)
        let err = relativeError(dLogits, numericGradient(logits) { dotProduct(forward($0).0, weights) })
        reportValue("FD tokenLogProb err", err)
        #expect(err < Self.tolerance, "relative error \(err)")
    }

    @Test("GEMM attention equals the row reference in fp32, with cached keys (start > 0)")
    func attentionKernelsAgree() {
        let heads = 4
        let kvHeads = 2
        let headDim = 16
        // Two sequences: 5 new rows after 3 cached keys, and 1 new row after 6.
        let spans = [
            AttentionSpan(queryRow: 0, rows: 5, start: 3, keyOffset: 0, probOffset: 0),
            AttentionSpan(queryRow: 5, rows: 1, start: 6, keyOffset: 8 * kvHeads * headDim, probOffset: 0),
        ]
        let q = gaussians(6 * heads * headDim, seed: 31).map(Float.init)
        let k = gaussians(15 * kvHeads * headDim, seed: 32).map(Float.init)
        let v = gaussians(15 * kvHeads * headDim, seed: 33).map(Float.init)
        var a = [Float](repeating: 0, count: q.count)
        var b = a
        attentionForward(
            out: &a, q: q, k: k, v: v, probs: nil, spans: spans, heads: heads, kvHeads: kvHeads, headDim: headDim)
        attentionForwardRows(
            out: &b, q: q, k: k, v: v, probs: nil, spans: spans, heads: heads, kvHeads: kvHeads, headDim: headDim)
        #expect(maxAbsDiff(a, b) < 1e-5)
    }
}
