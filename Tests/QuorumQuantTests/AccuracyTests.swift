import Foundation
import QuorumQuant
import Testing

/// Each format's matmul against the fp32 (Double) product on random data, with a per-output error
/// bound derived from the format's rounding rule (|Δy| ≤ Σᵢ |Δwᵢ||xᵢ| + |wᵢ||Δxᵢ| + |Δwᵢ||Δxᵢ|),
/// plus 1e-5·Σ|w·x| for fp32 summation order.
@Suite("Formats against the fp32 matmul")
struct AccuracyTests {
    static let out = 48, inFeatures = 320, tokens = 4

    func data(seed: UInt64) -> (w: [Float], x: [Float]) {
        var rng = SeededRandom(seed: seed)
        var w = rng.gaussian(Self.out * Self.inFeatures, scale: 0.02)
        w[17] = 0.3  // an outlier weight, as real layers have
        var x = rng.gaussian(Self.tokens * Self.inFeatures)
        x[3] = 12  // an outlier activation
        return (w, x)
    }

    /// Checks |y − W·x| ≤ bound(Δw, Δx) per output; returns the relative L2 error for the record.
    @discardableResult
    func check(
        _ layer: QuantizedLinear, w: [Float], x: [Float], dw: (Int) -> Double, dx: (Int) -> Double
    ) -> Double {
        let n = Self.inFeatures, rows = Self.out
        var y: [Float] = []
        layer.forward(x: x, into: &y)
        let (exact, magnitude) = referenceMatMul(w, x, out: rows, in: n)
        for t in 0..<Self.tokens {
            for r in 0..<rows {
                var bound = 0.0
                for i in 0..<n {
                    let a = dw(r * n + i), b = dx(t * n + i)
                    bound += a * Double(abs(x[t * n + i])) + Double(abs(w[r * n + i])) * b + a * b
                }
                let o = t * rows + r
                #expect(abs(Double(y[o]) - exact[o]) <= bound * (1 + 1e-3) + 1e-5 * magnitude[o] + 1e-6)
            }
        }
        return relativeL2(y, exact)
    }

    @Test("fp32: summation order only (1e-5·Σ|w·x|)")
    func fp32() {
        let (w, x) = data(seed: 1)
        let e = check(
            QuantizedLinear(weights: w, outFeatures: Self.out, inFeatures: Self.inFeatures, format: .fp32), w: w, x: x,
            dw: { _ in 0 }, dx: { _ in 0 })
        #expect(e < 1e-6)
    }

    @Test("bf16: |Δw| ≤ 2⁻⁸|w| (8 significant bits, round to nearest)")
    func bf16() {
        let (w, x) = data(seed: 2)
        let layer = QuantizedLinear(weights: w, outFeatures: Self.out, inFeatures: Self.inFeatures, format: .bf16)
        let e = check(layer, w: w, x: x, dw: { Double(abs(w[$0])) * 0x1p-8 }, dx: { _ in 0 })
        #expect(e < 0x1p-8)
    }

    @Test("W8A8-INT: |Δw| ≤ s_w/2 per channel, |Δx| ≤ s_x/2 per token")
    func w8a8() {
        let (w, x) = data(seed: 3)
        let layer = QuantizedLinear(weights: w, outFeatures: Self.out, inFeatures: Self.inFeatures, format: .w8a8Int)
        let n = Self.inFeatures
        let sx = (0..<Self.tokens).map { t in Double(x[(t * n)..<((t + 1) * n)].map(abs).max()!) / 127 }
        let e = check(layer, w: w, x: x, dw: { Double(layer.packed.scales[$0 / n]) / 2 }, dx: { sx[$0 / n] / 2 })
        #expect(e < 0.02)
    }

    @Test("W8A8-FP: E4M3 |Δ| ≤ 2⁻⁴|v| + 2⁻¹⁰·s (normal: half ulp of 3 mantissa bits; subnormal: half of 2⁻⁹)")
    func w8a8fp() {
        let (w, x) = data(seed: 4)
        let layer = QuantizedLinear(weights: w, outFeatures: Self.out, inFeatures: Self.inFeatures, format: .w8a8FP)
        let n = Self.inFeatures
        let sx = (0..<Self.tokens).map { t in Double(x[(t * n)..<((t + 1) * n)].map(abs).max()!) / 448 }
        let e = check(
            layer, w: w, x: x,
            dw: { Double(abs(w[$0])) * 0x1p-4 + Double(layer.packed.scales[$0 / n]) * 0x1p-10 },
            dx: { Double(abs(x[$0])) * 0x1p-4 + sx[$0 / n] * 0x1p-10 })
        #expect(e < 0.05)
    }

    @Test("W4A16-INT: |Δw| ≤ max(s_g/2, |w| − 7·s_g) per group (rounding, or clipping)")
    func w4a16() {
        let (w, x) = data(seed: 5)
        let layer = QuantizedLinear(weights: w, outFeatures: Self.out, inFeatures: Self.inFeatures, format: .w4a16Int)
        let n = Self.inFeatures, groups = layer.packed.groupsPerRow
        #expect(groups == 3)  // 320 = 128 + 128 + 64
        let e = check(
            layer, w: w, x: x,
            dw: { i in
                let s = Double(layer.packed.scales[(i / n) * groups + (i % n) / 128])
                return max(s / 2, Double(abs(w[i])) - 7 * s)
            }, dx: { _ in 0 })
        // Gaussian weights at 4 bits with MSE clipping: ~0.1 relative RMS error per weight, which
        // independent errors carry over to the outputs.
        #expect(e < 0.15)
    }

    @Test(
        "ternary weights: the layer equals α·codes times the quantized activations",
        arguments: ActivationQuantizer.allCases)
    func ternary(activations: ActivationQuantizer) {
        let (w, x) = data(seed: 6)
        let layer = QuantizedLinear(
            weights: w, outFeatures: Self.out, inFeatures: Self.inFeatures, format: .ternary(activations))
        let wq = layer.dequantized()
        let (codes, alpha) = Quantize.ternaryAbsmean(w)
        #expect(wq == codes.map { Float($0) * alpha })
        let n = Self.inFeatures
        // Activation error per entry, from each quantizer's rule.
        var dx = [Double](repeating: 0, count: x.count)
        for t in 0..<Self.tokens {
            let row = Array(x[(t * n)..<((t + 1) * n)])
            switch activations {
            case .int8Absmax:
                let s = Double(row.map(abs).max()!) / 127
                for i in 0..<n { dx[t * n + i] = s / 2 }
            case .int4Absmean:
                let s = Double(row.map(abs).reduce(0, +)) / Double(n) / 7.0.squareRoot()
                for i in 0..<n { dx[t * n + i] = max(s / 2, Double(abs(row[i])) - 7 * s) }
            case .topHalfInt8:
                let mask = row.withUnsafeBufferPointer { Quantize.topHalfMask($0) }
                let s = Double(row.map(abs).max()!) / 127
                for i in 0..<n { dx[t * n + i] = mask[i] ? s / 2 : Double(abs(row[i])) }
            }
        }
        check(layer, w: wq, x: x, dw: { _ in 0 }, dx: { dx[$0] })
    }
}
