import QuorumTensor
import Testing

@testable import QuorumModel

/// Central finite differences of `f` at `x`, one coordinate at a time.
func numericGradient(_ x: [Double], eps: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var x = x
    var grad = [Double](repeating: 0, count: x.count)
    for i in x.indices {
        let saved = x[i]
        x[i] = saved + eps
        let plus = f(x)
        x[i] = saved - eps
        let minus = f(x)
        x[i] = saved
        grad[i] = (plus - minus) / (2 * eps)
    }
    return grad
}

/// max |a − b| / max(max |a|, max |b|): the relative error the gradient checks report.
func relativeError<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Double {
    precondition(a.count == b.count)
    var diff = 0.0
    var scale = 1e-30
    for (x, y) in zip(a, b) {
        diff = max(diff, abs(Double(x) - Double(y)))
        scale = max(scale, abs(Double(x)), abs(Double(y)))
    }
    return diff / scale
}

/// max |a − b|.
func maxAbsDiff<T: BinaryFloatingPoint>(_ a: [T], _ b: [T]) -> Double {
    zip(a, b).reduce(0.0) { max($0, abs(Double($1.0) - Double($1.1))) }
}

/// `count` normal draws with standard deviation `std` from `seed`.
func gaussians(_ count: Int, seed: UInt64, std: Double = 1) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in rng.nextGaussian() * std }
}

/// Σ a·b.
func dotProduct(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

/// Tiny configurations used across the model tests.
enum TinyConfig {
    /// hidden 8, 2 layers, 2 heads over 1 kv head, vocab 11.
    static func make(act: FeedForwardKind = .swiGLU, tied: Bool = false) -> LlamaConfig {
        LlamaConfig(
            hiddenSize: 8, intermediateSize: 12, numAttentionHeads: 2, numKeyValueHeads: 1, numHiddenLayers: 2,
            vocabSize: 11, rmsNormEps: 1e-5, ropeTheta: 10_000, tieWordEmbeddings: tied, maxPositionEmbeddings: 32,
            bosTokenId: 1, eosTokenId: 2, hiddenAct: act)
    }

    /// hidden 32, 2 layers, 4 heads over 2 kv heads, vocab 29 — for training and decoding tests.
    static func small(act: FeedForwardKind = .swiGLU, tied: Bool = true) -> LlamaConfig {
        LlamaConfig(
            hiddenSize: 32, intermediateSize: 64, numAttentionHeads: 4, numKeyValueHeads: 2, numHiddenLayers: 2,
            vocabSize: 29, tieWordEmbeddings: tied, maxPositionEmbeddings: 64, bosTokenId: 1, eosTokenId: 2,
            hiddenAct: act)
    }
}
