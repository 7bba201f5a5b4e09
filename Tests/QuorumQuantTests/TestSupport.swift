import Foundation
import QuorumQuant
import QuorumCore

/// A small deterministic generator (SplitMix64) so every test sees the same data.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Standard normal samples (Box–Muller).
    mutating func gaussian(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in
            let u = Double.random(in: Double.ulpOfOne..<1, using: &self)
            let v = Double.random(in: 0..<1, using: &self)
            return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)) * scale
        }
    }

    mutating func int8(_ count: Int, in range: ClosedRange<Int8> = -127...127, zeroFraction: Double = 0) -> [Int8] {
        (0..<count).map { _ in
            Double.random(in: 0..<1, using: &self) < zeroFraction ? 0 : Int8.random(in: range, using: &self)
        }
    }
}

/// y = x · Wᵀ in Double, and Σ|w||x| per output (for relative fp tolerances).
func referenceMatMul(_ w: [Float], _ x: [Float], out: Int, in n: Int) -> (y: [Double], magnitude: [Double]) {
    let tokens = x.count / n
    var y = [Double](repeating: 0, count: tokens * out)
    var m = [Double](repeating: 0, count: tokens * out)
    for t in 0..<tokens {
        for r in 0..<out {
            var s = 0.0, a = 0.0
            for i in 0..<n {
                let p = Double(w[r * n + i]) * Double(x[t * n + i])
                s += p
                a += abs(p)
            }
            y[t * out + r] = s
            m[t * out + r] = a
        }
    }
    return (y, m)
}

func relativeL2(_ a: [Float], _ b: [Double]) -> Double {
    var num = 0.0, den = 0.0
    for (p, q) in zip(a, b) {
        num += (Double(p) - q) * (Double(p) - q)
        den += q * q
    }
    return (num / max(den, 1e-30)).squareRoot()
}
