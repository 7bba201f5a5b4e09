import QuorumModel
import QuorumTensor
import Testing

@testable import QuorumServing
import QuorumCore

@Suite struct BatchedSamplerTests {
    /// Three prompts × four samples each (identical prompts share a prefix), with a stop predicate so
    /// sequences finish at different steps and the batch admits new ones as others retire.
    static let prompts: [[Int]] = [
        randomTokens(7, vocab: 61, seed: 21), randomTokens(12, vocab: 61, seed: 22),
        randomTokens(3, vocab: 61, seed: 23),
    ]
    static let k = 4
    static var repeated: [[Int]] { prompts.flatMap { Array(repeating: $0, count: k) } }
    static let streams: [UInt64] = (0..<12).map { 100 + UInt64($0) * 7 }
    static func stop(_ index: Int, _ tokens: [Int]) -> Bool { tokens.last == 13 }

    func alone(_ generator: any TokenGenerator, parameters: SamplingParameters) -> [Generation] {
        zip(Self.repeated, Self.streams).map { prompt, stream in
            generator.generate(
                prompts: [prompt], parameters: parameters, streams: [stream], eosTokenId: 2, maxBatchSize: 1,
                stop: Self.stop)[0]
        }
    }

    @Test(arguments: ServingFormat.allCases, [0.0, 1.0])
    func anyArrangementGivesTheSameTokens(format: ServingFormat, temperature: Double) throws {
        let model = try randomModel(act: format == .a48 ? .reluSquaredGLU : .swiGLU, std: 0.3)
        let serving = try ServingModel(model: model, format: format)
        let parameters = SamplingParameters(temperature: temperature, topP: 0.9, maxNewTokens: 14, seed: 9)
        let expected = alone(serving, parameters: parameters)
        if temperature > 0 {
            #expect(Set(expected.map(\.tokens.count)).count > 1, "sequences should finish at different steps")
        }
        for batch in [1, 3, 5, 64] {
            let got = serving.generate(
                prompts: Self.repeated, parameters: parameters, streams: Self.streams, eosTokenId: 2,
                maxBatchSize: batch, stop: Self.stop)
            #expect(got == expected, "maxBatchSize \(batch)")
        }
        // Another order of the same samples: interleaved prompts.
        let order = (0..<12).map { ($0 % 3) * Self.k + $0 / 3 }
        let shuffled = serving.generate(
            prompts: order.map { Self.repeated[$0] }, parameters: parameters, streams: order.map { Self.streams[$0] },
            eosTokenId: 2, maxBatchSize: 6, stop: { i, tokens in Self.stop(order[i], tokens) })
        #expect(shuffled == order.map { expected[$0] })
    }

    @Test(arguments: [0.0, 1.0])
    func fp32MatchesLlamaModelGenerate(temperature: Double) throws {
        let model = try randomModel(std: 0.3)
        let serving = try ServingModel(model: model, format: .fp32)
        let parameters = SamplingParameters(temperature: temperature, topP: 0.9, maxNewTokens: 14, seed: 9)
        let reference = model.generate(
            prompts: Self.repeated, parameters: parameters, streams: Self.streams, eosTokenId: 2, maxBatchSize: 5,
            stop: Self.stop)
        let got = serving.generate(
            prompts: Self.repeated, parameters: parameters, streams: Self.streams, eosTokenId: 2, maxBatchSize: 5,
            stop: Self.stop)
        #expect(got == reference)
        if temperature > 0 {
            #expect(got.contains { $0.finish == .stopPredicate } || got.contains { $0.finish == .endOfSequence })
        }
    }

    @Test func contextLimitEndsWithLength() throws {
        let model = try randomModel()
        let serving = try ServingModel(model: model, format: .fp32)
        let prompt = randomTokens(90, vocab: 61, seed: 5)  // context 96
        let out = serving.generate(
            prompts: [prompt], parameters: .greedy(maxNewTokens: 50), streams: nil, eosTokenId: -1, maxBatchSize: 4,
            stop: { _, _ in false })
        #expect(out[0].tokens.count == 7)  // fed at positions 90…95; the 7th would need position 96
        #expect(out[0].finish == .length)
    }
}

/// `Sampler.sample` by definition: the whole vocabulary sorted (probability, then lower id), the
/// nucleus its shortest prefix reaching `topP`, one uniform draw over the nucleus mass.
private func referenceSample(_ logits: [Float], temperature: Double, topP: Double, using rng: inout SplitMix64) -> Int {
    if temperature <= 0 { return Sampler.argmax(logits) }
    let m = Double(logits[Sampler.argmax(logits)])
    var probs = logits.map { Math.exp((Double($0) - m) / temperature) }
    let total = probs.reduce(0, +)
    for j in probs.indices { probs[j] /= total }
    let order = probs.indices.sorted { probs[$0] > probs[$1] || (probs[$0] == probs[$1] && $0 < $1) }
    var candidates: [Int] = []
    var mass = 0.0
    for j in order where topP >= 1 || mass < topP {
        candidates.append(j)
        mass += probs[j]
    }
    if topP >= 1 { (candidates, mass) = (Array(probs.indices), 1.0) }
    var u = rng.nextUniform() * mass
    for j in candidates {
        u -= probs[j]
        if u < 0 { return j }
    }
    return candidates.last!
}

@Suite struct SamplerNucleusTests {
    /// The nucleus search (heap, then one sort of the rest) must reproduce the definition exactly:
    /// same token, same stream state, for flat and peaked distributions, ties, and top-p values whose
    /// nucleus ends inside the heap part (< 64 tokens) or in the sorted rest.
    @Test(arguments: [0.3, 0.9, 0.999, 1.0])
    func sameDrawsAsTheDefinition(topP: Double) {
        var source = SplitMix64(seed: 77)
        for trial in 0..<60 {
            let vocab = [1, 5, 64, 65, 300, 1024][trial % 6]
            let spread = [0.01, 1.0, 8.0][trial % 3]  // flat (huge nucleus) to peaked (a few tokens)
            var logits = (0..<vocab).map { _ in Float((source.nextUniform() - 0.5) * spread) }
            if vocab > 10 {
                for i in stride(from: 0, to: vocab, by: 7) { logits[i] = logits[0] }  // ties
            }
            for temperature in [0.0, 0.7, 1.3] {
                var a = SplitMix64(seed: UInt64(trial), stream: 3)
                var b = a
                for _ in 0..<5 {
                    let expected = referenceSample(logits, temperature: temperature, topP: topP, using: &a)
                    let got = Sampler.sample(logits, temperature: temperature, topP: topP, using: &b)
                    #expect(got == expected, "vocab \(vocab) spread \(spread) T \(temperature)")
                }
                #expect(a.next() == b.next())
            }
        }
    }
}
