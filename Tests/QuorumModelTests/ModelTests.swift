import Foundation
import QuorumTensor
import Testing

@testable import QuorumModel

@Suite("Model forward, KV cache, optimiser and training")
struct ModelTests {
    static let sequences = [
        [1, 4, 7, 3, 9, 2, 11, 13], [1, 5, 5, 8], [1, 10, 6, 20, 21, 22, 23, 24, 25, 26, 27], [3],
    ]

    /// Logits of sequence b's token t from a packed forward pass.
    static func logits(_ pass: ForwardPass<Float>, _ b: Int, _ t: Int, vocab: Int) -> [Float] {
        let row = pass.rows(ofSequence: b).lowerBound + t
        return Array(UnsafeBufferPointer(start: pass.logits.pointer + row * vocab, count: vocab))
    }

    @Test(
        "a batch of different lengths gives each sequence the logits it gets alone",
        arguments: [FeedForwardKind.swiGLU, .reluSquaredGLU])
    func batchedEqualsSingle(act: FeedForwardKind) throws {
        let config = TinyConfig.small(act: act)
        let model = try LlamaModel<Float>(config: config, seed: 1)
        let batched = model.forward(TokenBatch(sequences: Self.sequences))
        for (b, sequence) in Self.sequences.enumerated() {
            let alone = model.forward(TokenBatch(sequences: [sequence]))
            for t in sequence.indices {
                let diff = maxAbsDiff(
                    Self.logits(batched, b, t, vocab: config.vocabSize),
                    Self.logits(alone, 0, t, vocab: config.vocabSize))
                #expect(diff < 1e-5, "sequence \(b) token \(t): \(diff)")
            }
        }
    }

    @Test("KV-cache decoding (prefill in chunks, batched slots) equals the full forward")
    func kvCacheMatchesForward() throws {
        let config = TinyConfig.small(tied: false)
        let model = try LlamaModel<Float>(config: config, seed: 2)
        let full = model.forward(TokenBatch(sequences: Self.sequences))
        let cache = KVCache<Float>(config: config, slots: Self.sequences.count, capacity: 16)
        // Prefill the first 3 tokens (or fewer) of every sequence in one call, then one token at a time.
        let prefix = Self.sequences.map { Array($0.prefix(3)) }
        var out = model.extend(cache, slots: Array(prefix.indices), tokens: prefix)
        var worst = 0.0
        for (b, p) in prefix.enumerated() {
            worst = max(worst, maxAbsDiff(out[b], Self.logits(full, b, p.count - 1, vocab: config.vocabSize)))
        }
        for t in 3..<Self.sequences.map(\.count).max()! {
            let slots = Self.sequences.indices.filter { Self.sequences[$0].count > t }
            out = model.extend(cache, slots: slots, tokens: slots.map { [Self.sequences[$0][t]] })
            for (i, b) in slots.enumerated() {
                worst = max(worst, maxAbsDiff(out[i], Self.logits(full, b, t, vocab: config.vocabSize)))
            }
        }
        #expect(cache.lengths == Self.sequences.map(\.count))
        #expect(worst < 1e-5, "max abs diff \(worst)")
    }

    @Test("AdamW step matches a hand computation, decay only on matrices")
    func adamWStep() throws {
        let model = try LlamaModel<Double>(config: TinyConfig.make(), seed: 3)
        let settings = AdamW<Double>.Settings(beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1)
        let optimizer = AdamW(model: model, settings: settings)
        let before = model.parameters.array
        let grads = gaussians(model.parameterCount, seed: 4)
        let grads2 = gaussians(model.parameterCount, seed: 5)
        let lr = 0.01
        for i in 0..<model.parameterCount { model.gradients[i] = grads[i] }
        optimizer.update(model, lr: lr)
        for i in 0..<model.parameterCount { model.gradients[i] = grads2[i] }
        optimizer.update(model, lr: lr)
        let normOffset = model.layout.entry(named: "model.norm.weight")!.offset
        let qOffset = model.layout.entry(named: "model.layers.1.self_attn.q_proj.weight")!.offset
        for (i, decays) in [(normOffset, false), (qOffset, true), (qOffset + 5, true), (0, true)] {
            var p = before[i]
            var m = 0.0
            var v = 0.0
            for (t, g) in [grads[i], grads2[i]].enumerated() {
                m = 0.9 * m + 0.1 * g
                v = 0.99 * v + 0.01 * g * g
                let mHat = m / (1 - pow(0.9, Double(t + 1)))
                let vHat = v / (1 - pow(0.99, Double(t + 1)))
                if decays { p -= lr * 0.1 * p }
                p -= lr * mHat / (vHat.squareRoot() + 1e-8)
            }
            #expect(abs(model.parameters[i] - p) < 1e-14, "parameter \(i)")
        }
        #expect(optimizer.step == 2)
    }

    @Test("warm-up + cosine schedule and global-norm clipping")
    func scheduleAndClipping() throws {
        let s = LearningRateSchedule(peak: 1e-3, minimum: 1e-4, warmupSteps: 10, totalSteps: 110)
        #expect(abs(s.rate(at: 0) - 1e-4) < 1e-12)
        #expect(abs(s.rate(at: 9) - 1e-3) < 1e-12)
        #expect(abs(s.rate(at: 10) - 1e-3) < 1e-12)
        #expect(abs(s.rate(at: 60) - 5.5e-4) < 1e-12)
        #expect(abs(s.rate(at: 110) - 1e-4) < 1e-12)
        let model = try LlamaModel<Double>(config: TinyConfig.make(), seed: 5)
        for i in 0..<model.parameterCount { model.gradients[i] = 1 }
        let norm = model.clipGradients(maxNorm: 2)
        #expect(abs(norm - Double(model.parameterCount).squareRoot()) < 1e-9)
        #expect(abs(model.gradientNorm() - 2) < 1e-9)
    }

    @Test("a tiny model overfits a tiny batch", arguments: [FeedForwardKind.swiGLU, .reluSquaredGLU])
    func overfit(act: FeedForwardKind) throws {
        let model = try LlamaModel<Float>(config: TinyConfig.small(act: act), seed: 6)
        let optimizer = AdamW(model: model, settings: .init(weightDecay: 0))
        let schedule = LearningRateSchedule(peak: 1e-2, minimum: 1e-3, warmupSteps: 5, totalSteps: 60)
        let batch = TokenBatch(sequences: Self.sequences)
        var first: Float = 0
        var last: Float = 0
        for step in 0..<60 {
            model.zeroGradients()
            // Two micro-batches accumulated into one step.
            let a = model.backwardCrossEntropy(
                model.forward(TokenBatch(sequences: Array(batch.sequences[0..<2]))), scale: 0.5)
            let b = model.backwardCrossEntropy(
                model.forward(TokenBatch(sequences: Array(batch.sequences[2...]))), scale: 0.5)
            model.clipGradients(maxNorm: 1)
            optimizer.update(model, lr: schedule.rate(at: step))
            if step == 0 { first = (a + b) / 2 }
            last = (a + b) / 2
        }
        #expect(first > 3)
        #expect(last < 0.1 * first, "loss \(first) → \(last)")
    }

    @Test("a pass the caller still holds is never recycled; a dropped one is, with the same results")
    func passReuse() throws {
        let model = try LlamaModel<Float>(config: TinyConfig.small(), seed: 8)
        let a = TokenBatch(sequences: [[1, 2, 3, 4], [5, 6]])
        let b = TokenBatch(sequences: [[7, 8], [9, 10, 11, 12]])
        let fresh = model.forward(b).logits.array
        let held = model.forward(a)
        let heldLogits = held.logits.array
        let other = model.forward(b)
        #expect(held !== other)
        #expect(held.logits.array == heldLogits)
        #expect(other.logits.array == fresh)
        // Reusing a dropped pass of the same shape gives the same numbers as a new one.
        #expect(model.forward(a).logits.array == heldLogits)
    }
}
