import QuorumTensor
import Testing

@testable import QuorumModel
import QuorumCore

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
