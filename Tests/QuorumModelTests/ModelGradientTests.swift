import QuorumTensor
import Testing

@testable import QuorumModel

/// The whole model's backward against finite differences over every parameter, in Double.
@Suite("Whole-model backward vs finite differences (fp64)")
struct ModelGradientTests {
    static let batch = TokenBatch(
        sequences: [[1, 4, 7, 3, 9, 2], [1, 5, 5, 8], [1, 10, 6]],
        scored: [
            [false, true, true, false, true, true], [false, false, true, true], [false, true, true],
        ])

    /// Checks `model.gradients` after `analytic` against central differences of `loss`.
    static func check(_ model: LlamaModel<Double>, loss: () -> Double, analytic: () -> Void) -> Double {
        model.zeroGradients()
        analytic()
        let grad = model.gradients.array
        let p = model.parameters.pointer
        var numeric = [Double](repeating: 0, count: model.parameterCount)
        let eps = 1e-6
        for i in 0..<model.parameterCount {
            let saved = p[i]
            p[i] = saved + eps
            let plus = loss()
            p[i] = saved - eps
            let minus = loss()
            p[i] = saved
            numeric[i] = (plus - minus) / (2 * eps)
        }
        return relativeError(grad, numeric)
    }

    @Test(
        "mean cross-entropy over the scored tokens",
        arguments: [(FeedForwardKind.swiGLU, false), (.swiGLU, true), (.reluSquaredGLU, false)])
    func crossEntropy(act: FeedForwardKind, tied: Bool) throws {
        let model = try LlamaModel<Double>(config: TinyConfig.make(act: act, tied: tied), seed: 7)
        // Larger weights than the default init so every path carries signal.
        for i in 0..<model.parameterCount { model.parameters[i] *= 10 }
        let err = Self.check(model, loss: { model.forward(Self.batch).meanCrossEntropy }) {
            model.backwardCrossEntropy(model.forward(Self.batch))
        }
        reportValue("FD crossEntropy \(act) tied=\(tied) err", err)
        #expect(err < 1e-6, "relative error \(err)")
    }

    @Test("weighted per-sequence log-prob sums over a response span (SCPO's log M(y|x))")
    func sequenceLogProb() throws {
        let model = try LlamaModel<Double>(config: TinyConfig.make(act: .reluSquaredGLU), seed: 8)
        for i in 0..<model.parameterCount { model.parameters[i] *= 10 }
        let batch = TokenBatch(
            prompts: [[1, 4, 7], [1, 5], [1, 3, 3, 9]], responses: [[3, 9, 2], [6, 8, 8, 2], [2]])
        let weights: [Double] = [0.7, -1.3, 0.4]
        let pass = model.forward(batch)
        #expect(pass.scoredCounts == [3, 4, 1])
        let err = Self.check(model, loss: { dotProduct(model.forward(batch).sequenceLogProbs, weights) }) {
            model.backward(model.forward(batch), sequenceGradients: weights)
        }
        reportValue("FD sequenceLogProb err", err)
        #expect(err < 1e-6, "relative error \(err)")
    }

    @Test("gradients accumulate across backward calls")
    func accumulation() throws {
        let model = try LlamaModel<Double>(config: TinyConfig.make(), seed: 9)
        model.zeroGradients()
        model.backwardCrossEntropy(model.forward(Self.batch))
        let once = model.gradients.array
        model.backwardCrossEntropy(model.forward(Self.batch), scale: 2)
        #expect(maxAbsDiff(model.gradients.array, once.map { 3 * $0 }) < 1e-12)
    }
}
