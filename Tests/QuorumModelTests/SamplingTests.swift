import QuorumTensor
import Testing

@testable import QuorumModel
import QuorumCore

@Suite("Sampling and batched generation")
struct SamplingTests {
    static let prompts = [[1, 4, 7], [1, 5], [1, 10, 6, 20, 3], [1]]

    static func model() throws -> LlamaModel<Float> {
        let model = try LlamaModel<Float>(config: TinyConfig.small(), seed: 21)
        // Sharpen the random model a little so that sampling is neither uniform nor deterministic.
        for i in 0..<model.parameterCount { model.parameters[i] *= 6 }
        return model
    }

    @Test("greedy decoding picks the argmax of the full forward at every step")
    func greedyIsArgmax() throws {
        let model = try Self.model()
        let out = model.generate(prompts: Self.prompts, parameters: .greedy(maxNewTokens: 6), eosTokenId: -1)
        for (prompt, generation) in zip(Self.prompts, out) {
            #expect(generation.tokens.count == 6)
            #expect(generation.finish == .length)
            var sequence = prompt
            for token in generation.tokens {
                let pass = model.forward(TokenBatch(sequences: [sequence]))
                let v = model.config.vocabSize
                let last = Array(UnsafeBufferPointer(start: pass.logits.pointer + (sequence.count - 1) * v, count: v))
                #expect(token == Sampler.argmax(last))
                sequence.append(token)
            }
        }
    }

    @Test("sampling is reproducible by seed and stream, whatever the batch")
    func reproducible() throws {
        let model = try Self.model()
        let p = SamplingParameters(temperature: 1.0, topP: 0.9, maxNewTokens: 8, seed: 77)
        let a = model.generate(prompts: Self.prompts, parameters: p, eosTokenId: -1)
        let b = model.generate(prompts: Self.prompts, parameters: p, eosTokenId: -1)
        #expect(a == b)
        // Sample 2 alone, with its stream number, draws the same tokens.
        let alone = model.generate(prompts: [Self.prompts[2]], parameters: p, streams: [2], eosTokenId: -1)
        #expect(alone[0] == a[2])
        // Decoding in batches of 3 (then 1) draws the same as all four together.
        let chunked = model.generate(prompts: Self.prompts, parameters: p, eosTokenId: -1, maxBatchSize: 3)
        #expect(chunked == a)
        var other = p
        other.seed = 78
        #expect(model.generate(prompts: Self.prompts, parameters: other, eosTokenId: -1) != a)
    }

    @Test("stops at EOS, at the stop predicate, or at max new tokens")
    func stopping() throws {
        let model = try Self.model()
        let greedy = model.generate(prompts: [Self.prompts[0]], parameters: .greedy(maxNewTokens: 5), eosTokenId: -1)[0]
        let eos = greedy.tokens[2]
        let first = greedy.tokens.firstIndex(of: eos)!
        let stopped = model.generate(prompts: [Self.prompts[0]], parameters: .greedy(maxNewTokens: 5), eosTokenId: eos)[
            0]
        #expect(stopped.tokens == Array(greedy.tokens[...first]))
        #expect(stopped.finish == .endOfSequence)
        let predicate = model.generate(prompts: [Self.prompts[0]], parameters: .greedy(maxNewTokens: 5), eosTokenId: -1)
        { _, generated in
            generated.count == 2
        }[0]
        #expect(predicate.tokens == Array(greedy.tokens.prefix(2)))
        #expect(predicate.finish == .stopPredicate)
    }

    @Test("temperature and top-p shape the distribution")
    func samplerDistribution() {
        let logits: [Float] = [2.0, 1.0, 0.0, -1.0]
        var rng = SplitMix64(seed: 5)
        var counts = [0, 0, 0, 0]
        for _ in 0..<20000 { counts[Sampler.sample(logits, temperature: 1, topP: 1, using: &rng)] += 1 }
        let z = logits.reduce(0.0) { $0 + Math.exp(Double($1)) }
        for j in 0..<4 {
            #expect(abs(Double(counts[j]) / 20000 - Math.exp(Double(logits[j])) / z) < 0.015)
        }
        // p(0) ≈ 0.64, p(1) ≈ 0.24: top-p 0.7 keeps exactly the two best tokens.
        counts = [0, 0, 0, 0]
        for _ in 0..<5000 { counts[Sampler.sample(logits, temperature: 1, topP: 0.7, using: &rng)] += 1 }
        #expect(counts[2] == 0 && counts[3] == 0 && counts[1] > 0)
        // Tiny top-p or zero temperature is greedy.
        #expect(Sampler.sample(logits, temperature: 1, topP: 1e-6, using: &rng) == 0)
        #expect(Sampler.sample([0, 3, 3], temperature: 0, topP: 1, using: &rng) == 1)
    }
}
