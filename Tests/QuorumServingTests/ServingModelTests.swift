import QuorumModel
import QuorumQuant
import QuorumTensor
import Testing

@testable import QuorumServing
import QuorumCore

/// A small random model with GQA; weights N(0, std²) (larger than the init default so that
/// logits spread and quantization errors show).
func randomModel(act: FeedForwardKind = .swiGLU, tied: Bool = true, seed: UInt64 = 7, std: Double = 0.15) throws
    -> LlamaModel<Float>
{
    let config = LlamaConfig(
        hiddenSize: 64, intermediateSize: 160, numAttentionHeads: 4, numKeyValueHeads: 2, numHiddenLayers: 2,
        vocabSize: 61, tieWordEmbeddings: tied, maxPositionEmbeddings: 96, bosTokenId: 1, eosTokenId: 2,
        hiddenAct: act, headDim: 16)
    let model = try LlamaModel<Float>(config: config)
    var rng = SplitMix64(seed: seed)
    for entry in model.layout.entries where entry.shape.count == 2 {
        let p = model.parameters.pointer + entry.offset
        for i in 0..<entry.count { p[i] = Float(rng.nextGaussian() * std) }
    }
    for entry in model.layout.entries where entry.shape.count == 1 {
        let p = model.parameters.pointer + entry.offset
        for i in 0..<entry.count { p[i] = Float(1 + 0.1 * rng.nextGaussian()) }
    }
    return model
}

func randomTokens(_ count: Int, vocab: Int, seed: UInt64) -> [Int] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in Int(rng.next() % UInt64(vocab)) }
}

/// ‖a − b‖₂ / ‖b‖₂.
func relativeL2Error(_ a: [Float], _ b: [Float]) -> Double {
    var diff = 0.0
    var norm = 0.0
    for (x, y) in zip(a, b) {
        diff += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return (diff / max(norm, 1e-30)).squareRoot()
}

/// max |a − b| over max |b|.
func relativeMaxError(_ a: [Float], _ b: [Float]) -> Double {
    var diff: Float = 0
    var scale: Float = 0
    for (x, y) in zip(a, b) {
        diff = max(diff, abs(x - y))
        scale = max(scale, abs(y))
    }
    return Double(diff / max(scale, 1e-30))
}

/// LlamaModel's logits for every position of `sequence`.
func referenceLogits(_ model: LlamaModel<Float>, _ sequence: [Int]) -> [Float] {
    let pass = model.forward(TokenBatch(sequences: [sequence]))
    return Array(UnsafeBufferPointer(start: pass.logits.pointer, count: sequence.count * model.config.vocabSize))
}

@Suite struct ServingForwardTests {
    @Test(arguments: [FeedForwardKind.swiGLU, .reluSquaredGLU], [true, false])
    func fp32MatchesLlamaModel(act: FeedForwardKind, tied: Bool) throws {
        let model = try randomModel(act: act, tied: tied)
        let serving = try ServingModel(model: model, format: .fp32)
        serving.keyValuePrecision = .float32
        let sequences = [randomTokens(23, vocab: 61, seed: 1), randomTokens(9, vocab: 61, seed: 2)]
        let logits = serving.logits(sequences)
        for (s, sequence) in sequences.enumerated() {
            let expected = referenceLogits(model, sequence)
            #expect(relativeMaxError(logits[s], expected) < 2e-5)
        }
    }

    @Test func incrementalDecodingMatchesFullForward() throws {
        let model = try randomModel()
        let serving = try ServingModel(model: model, format: .fp32)
        let v = model.config.vocabSize
        let sequence = randomTokens(20, vocab: v, seed: 3)
        let expected = referenceLogits(model, sequence)
        let store = KVStore(config: model.config, capacity: 20, precision: .float32)
        var got = serving.extend([ExtendRequest(store: store, tokens: Array(sequence[0..<8]))])[0]
        #expect(relativeMaxError(got, Array(expected[7 * v..<8 * v])) < 2e-5)
        for t in 8..<20 {
            got = serving.extend([ExtendRequest(store: store, tokens: [sequence[t]])])[0]
            #expect(relativeMaxError(got, Array(expected[t * v..<(t + 1) * v])) < 2e-5)
        }
        // LlamaModel's own KV-cache decoding agrees too.
        let cache = KVCache<Float>(config: model.config, slots: 1, capacity: 20)
        _ = model.extend(cache, slots: [0], tokens: [Array(sequence[0..<19])])
        let last = model.extend(cache, slots: [0], tokens: [[sequence[19]]])[0]
        #expect(relativeMaxError(got, last) < 2e-5)
    }

    /// The default binary16 cache against the fp32 one: every key and value element is rounded with
    /// relative error ≤ 2⁻¹¹ ≈ 4.9e-4, which moves the logits of this random model by about 1e-3 at
    /// most (measured 3e-4 … 1e-3 against LlamaModel); decoding through a half store equals the
    /// full forward pass through half stores.
    @Test func halfPrecisionCacheStaysCloseToFP32() throws {
        let model = try randomModel()
        let serving = try ServingModel(model: model, format: .fp32)
        let sequence = randomTokens(24, vocab: model.config.vocabSize, seed: 6)
        #expect(serving.keyValuePrecision == .float16)
        let half = serving.logits([sequence])[0]
        serving.keyValuePrecision = .float32
        let full = serving.logits([sequence])[0]
        let error = relativeMaxError(half, full)
        #expect(error > 0 && error < 3e-3)
        let v = model.config.vocabSize
        let store = KVStore(config: model.config, capacity: 24)
        _ = serving.extend([ExtendRequest(store: store, tokens: Array(sequence[0..<10]))])
        var last: [Float] = []
        for t in 10..<24 { last = serving.extend([ExtendRequest(store: store, tokens: [sequence[t]])])[0] }
        #expect(last == Array(half[23 * v..<24 * v]))
    }

    @Test(arguments: ServingFormat.allCases)
    func sharedPrefixAndBatchingAreBitExact(format: ServingFormat) throws {
        let model = try randomModel(act: format == .a48 ? .reluSquaredGLU : .swiGLU)
        let serving = try ServingModel(model: model, format: format)
        let c = model.config
        let prompt = randomTokens(11, vocab: c.vocabSize, seed: 4)
        let tails = (0..<3).map { randomTokens(4, vocab: c.vocabSize, seed: 10 + UInt64($0)) }
        // Alone: prompt + tail in one store, token by token after the prompt.
        var alone: [[Float]] = []
        for tail in tails {
            let store = KVStore(config: c, capacity: 15)
            _ = serving.extend([ExtendRequest(store: store, tokens: prompt)])
            var last: [Float] = []
            for token in tail { last = serving.extend([ExtendRequest(store: store, tokens: [token])])[0] }
            alone.append(last)
        }
        // Shared: the prompt once, three sequences decoding together over it.
        let prefix = KVStore(config: c, capacity: 11)
        _ = serving.extend([ExtendRequest(store: prefix, tokens: prompt)])
        let stores = tails.map { _ in KVStore(config: c, capacity: 4) }
        var shared: [[Float]] = []
        for t in 0..<4 {
            shared = serving.extend(
                zip(stores, tails).map { ExtendRequest(store: $0, prefix: prefix, tokens: [$1[t]]) })
        }
        #expect(shared == alone)
    }

    /// Each format against fp32: relative L2 error of all logits of a 24-token sequence within a bound
    /// of the fp32 model's, and within a bound of an fp32 model holding the format's dequantized weights
    /// (which isolates the activation quantizer; weight-only formats must match it to fp32 rounding).
    /// Bounds are about twice the errors measured on this model (printed; the random network
    /// amplifies a weight error ε to about 2ε in the logits). Ternary weights are not
    /// meant to approximate an fp32-trained model (they are trained as such), so for b1.58 and a4.8
    /// only the activation part is bounded tightly.
    @Test(arguments: [
        // measured: bf16 0.0046 / 5e-7, w8a8 0.024 / 0.016, w8a8-fp 0.11 / 0.059, w4a16 0.27 / 5.8e-5
        // (int16 group activations; 4e-7 with fp32 ones), b1.58 0.93 / 0.0097, a4.8 1.04 / 0.28 (group
        // size 64 for w4a16 here: the rows are 64 wide).
        (ServingFormat.bf16, 0.01, 1e-5), (.w8a8, 0.05, 0.035), (.w8a8FP, 0.2, 0.12), (.w4a16, 0.5, 2e-4),
        (.b158, 1.5, 0.02), (.a48, 1.5, 0.5),
    ])
    func quantizedLogitsWithinBound(format: ServingFormat, bound: Double, activationBound: Double) throws {
        let act: FeedForwardKind = format == .a48 ? .reluSquaredGLU : .swiGLU
        let model = try randomModel(act: act, std: 0.08)
        let weights = try ServingWeights(model: model, format: format)
        let serving = try ServingModel(weights: weights)
        serving.keyValuePrecision = .float32  // the format's error alone
        let sequence = randomTokens(24, vocab: model.config.vocabSize, seed: 5)
        let got = serving.logits([sequence])[0]
        let error = relativeL2Error(got, referenceLogits(model, sequence))
        // The same model with the quantized weights dequantized into fp32.
        let dequantized = try randomModel(act: act, std: 0.08)
        for (name, matrix) in weights.packed {
            let entry = dequantized.layout.entry(named: name)!
            let values = matrix.dequantized()
            values.withUnsafeBufferPointer {
                (dequantized.parameters.pointer + entry.offset).update(from: $0.baseAddress!, count: values.count)
            }
        }
        let activationError = relativeL2Error(got, referenceLogits(dequantized, sequence))
        print("\(format.rawValue): relative logit error \(error) vs fp32, \(activationError) vs dequantized weights")
        #expect(error < bound)
        #expect(activationError < activationBound)
    }
}
