import Foundation
import QuorumModel
import QuorumTensor
import SCPO
import QuorumCore

/// Prints a measured value so test logs carry the numbers the report quotes.
func report(_ label: String, _ value: Double) {
    print("SCPO-TEST \(label): \(String(format: "%.3e", value))")
}

/// Tiny model shapes for the SCPO tests.
enum TinyShapes {
    /// hidden 8, 2 layers, 2 heads over 1 kv head, vocab 11 — for finite differences in Double.
    static func gradientCheck(act: FeedForwardKind = .swiGLU, tied: Bool = false) -> LlamaConfig {
        LlamaConfig(
            hiddenSize: 8, intermediateSize: 12, numAttentionHeads: 2, numKeyValueHeads: 1, numHiddenLayers: 2,
            vocabSize: 11, rmsNormEps: 1e-5, ropeTheta: 10_000, tieWordEmbeddings: tied, maxPositionEmbeddings: 32,
            bosTokenId: 1, eosTokenId: 2, hiddenAct: act)
    }

    /// hidden 32, 2 layers, 4 heads over 2 kv heads, vocab 29 — for short training runs.
    static func training() -> LlamaConfig {
        LlamaConfig(
            hiddenSize: 32, intermediateSize: 64, numAttentionHeads: 4, numKeyValueHeads: 2, numHiddenLayers: 2,
            vocabSize: 29, tieWordEmbeddings: true, maxPositionEmbeddings: 64, bosTokenId: 1, eosTokenId: 2)
    }
}

/// `count` pairs of random tokens (ids 3..<vocab) with the given weights, seeded.
func randomPairs(count: Int, vocab: Int, seed: UInt64, weights: [Double]? = nil) -> [TokenizedPair] {
    var rng = SplitMix64(seed: seed)
    func tokens(_ n: Int) -> [Int] { (0..<n).map { _ in 3 + Int(rng.next() % UInt64(vocab - 3)) } }
    return (0..<count).map { i in
        let prompt = [1] + tokens(2 + Int(rng.next() % 4))
        let chosen = tokens(1 + Int(rng.next() % 5)) + [2]
        let rejected = tokens(1 + Int(rng.next() % 5)) + [2]
        return TokenizedPair(
            problemID: "p\(i)", prompt: prompt, chosen: chosen, rejected: rejected,
            weight: weights?[i % weights!.count] ?? 1)
    }
}
