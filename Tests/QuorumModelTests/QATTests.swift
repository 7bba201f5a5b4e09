import Foundation
import QuorumQuant
import QuorumTensor
import Testing

@testable import QuorumModel
import QuorumCore

/// Quantization-aware training (BitNet b1.58 / a4.8): loss and gradients against an independent
/// PyTorch implementation (`ops/fixtures/make_qat_fixture.py`), the quantizers against
/// QuorumQuant's serving quantizers and hand-computed values, and edge cases.
@Suite("Quantization-aware training")
struct QATTests {
    static let folder = CheckpointTests.fixtures + "/qat"

    /// The fixture's sequences and, per scheme, PyTorch's loss and gradients.
    static func reference() throws -> (sequences: [[Int]], tensors: [String: Tensor<Double>]) {
        let tensors = try LlamaModel<Double>.readTensors(path: folder + "/reference.safetensors")
        var sequences: [[Int]] = []
        while let ids = tensors["input_ids_\(sequences.count)"] { sequences.append(ids.storage.map { Int($0) }) }
        return (sequences, tensors)
    }

    @Test("config.json of the fixture names the a4.8 scheme")
    func fixtureConfig() throws {
        let config = try LlamaConfig.load(path: Self.folder + "/config.json")
        #expect(config.quantization == .a48)
        #expect(config.hiddenAct == .reluSquaredGLU)
    }

    @Test(
        "fp64 loss and every gradient match PyTorch's STE reference (loss 1e-12, gradients 1e-10 relative)",
        arguments: ["none", "b1.58", "a4.8"])
    func matchesPyTorch(scheme: String) throws {
        let (sequences, reference) = try Self.reference()
        try #require(sequences.count == 2)
        let model = try LlamaModel<Double>.load(directory: Self.folder)
        try model.setQuantization(QuantizationScheme(rawValue: scheme))
        model.zeroGradients()
        let pass = model.forward(TokenBatch(sequences: sequences))
        let loss = model.backwardCrossEntropy(pass)
        let want = try #require(reference["loss_\(scheme)"]).storage[0]
        reportValue("QAT \(scheme) loss |Quorum − PyTorch| (loss \(want))", abs(loss - want))
        #expect(abs(loss - want) < 1e-12)
        var worst = 0.0
        for entry in model.layout.entries {
            let expected = try #require(reference["grad_\(scheme)/\(entry.name)"]).storage
            let got = Array(UnsafeBufferPointer(start: model.gradients.pointer + entry.offset, count: entry.count))
            let error = relativeError(got, expected)
            worst = max(worst, error)
            #expect(error < 1e-10, "\(entry.name): relative error \(error)")
        }
        reportValue("QAT \(scheme) worst gradient relative error", worst)
    }

    @Test("fp32 loss and gradients agree with the fp64 reference to fp32 accuracy", arguments: ["b1.58", "a4.8"])
    func float32AgreesWithReference(scheme: String) throws {
        let (sequences, reference) = try Self.reference()
        let model = try LlamaModel<Float>.load(directory: Self.folder)
        try model.setQuantization(QuantizationScheme(rawValue: scheme))
        model.zeroGradients()
        let loss = model.backwardCrossEntropy(model.forward(TokenBatch(sequences: sequences)))
        let want = try #require(reference["loss_\(scheme)"]).storage[0]
        #expect(abs(Double(loss) - want) < 1e-4, "fp32 loss \(loss), fp64 reference \(want)")
        let got = model.gradients.array.map(Double.init)
        var expected = [Double](repeating: 0, count: got.count)
        for entry in model.layout.entries {
            let g = try #require(reference["grad_\(scheme)/\(entry.name)"]).storage
            for i in 0..<entry.count { expected[entry.offset + i] = g[i] }
        }
        let error = relativeError(got, expected)
        reportValue("QAT \(scheme) fp32 vs fp64 reference gradient relative error", error)
        // Measured 4e-7; an activation rounding to the other code in fp32 would show as ~1e-2.
        #expect(error < 1e-5)
    }

    @Test("the fp32 quantizers equal QuorumQuant's serving quantizers bit for bit")
    func matchesServingQuantizers() {
        var rng = SplitMix64(seed: 7)
        for count in [1, 2, 7, 8, 9, 64, 100, 257] {
            for _ in 0..<20 {
                let x = (0..<count).map { _ in Float(rng.nextGaussian() * 3) }
                var mine = x
                mine.withUnsafeMutableBufferPointer { FakeQuant.int8Absmax($0.baseAddress!, count: count) }
                let (c8, s8) = Quantize.int8Absmax(x)
                #expect(mine == c8.map { Float($0) * s8 })

                mine = x
                mine.withUnsafeMutableBufferPointer { FakeQuant.int4Absmean($0.baseAddress!, count: count) }
                let (c4, s4) = Quantize.int4Absmean(x)
                #expect(mine == c4.map { Float($0) * s4 })

                mine = x
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: count)
                defer { scratch.deallocate() }
                mine.withUnsafeMutableBufferPointer {
                    FakeQuant.topHalf($0.baseAddress!, count: count, scratch: scratch)
                }
                #expect(mine == Quantize.topHalfSparsified(x))

                var ternary = [Float](repeating: 0, count: count)
                x.withUnsafeBufferPointer { p in
                    ternary.withUnsafeMutableBufferPointer {
                        _ = FakeQuant.ternary(p.baseAddress!, count: count, into: $0.baseAddress!)
                    }
                }
                let (ct, alpha) = Quantize.ternaryAbsmean(x)
                #expect(ternary == ct.map { Float($0) * alpha })
            }
        }
        // Ties at the top-K threshold keep the lower index first, as QuorumQuant does.
        var tied: [Float] = [1, -1, 1, 0.5, -1, 0.25]
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 6)
        defer { scratch.deallocate() }
        let expected = Quantize.topHalfSparsified(tied)
        tied.withUnsafeMutableBufferPointer { FakeQuant.topHalf($0.baseAddress!, count: 6, scratch: scratch) }
        #expect(tied == expected)
        #expect(tied == [1, -1, 1, 0, 0, 0])
    }

    @Test("quantizers on hand-computed examples (docs/papers.md §2)")
    func handComputed() {
        // INT8 absmax: γ = 2; 127·x/(2 + 1e-5) = 63.4997, −126.9994, 15.87; codes 63, −127, 16.
        var x: [Double] = [1, -2, 0.25]
        x.withUnsafeMutableBufferPointer { FakeQuant.int8Absmax($0.baseAddress!, count: 3) }
        let int8Expected: [Double] = [63, -127, 16]
        #expect(zip(x, int8Expected).allSatisfy { abs($0 - $1 * 2 / 127) < 1e-15 })
        // INT4 absmean.
        x = [0.3, 3, -1, 0.5, 0.2, 0, 0, 0]
        x.withUnsafeMutableBufferPointer { FakeQuant.int4Absmean($0.baseAddress!, count: 8) }
        let step = 0.625 / 7.0.squareRoot()  // β = (0.3 + 3 + 1 + 0.5 + 0.2) / 8 = 0.625
        // √7·x/β: 1.27, 12.7, −4.23, 2.12, 0.85 → 1, 7, −4, 2, 1.
        let codes: [Double] = [1, 7, -4, 2, 1, 0, 0, 0]
        let expected = codes.map { $0 * step }
        #expect(zip(x, expected).allSatisfy { abs($0 - $1) < 1e-15 })
        // Ternary: α = mean|W| = 0.5; W/α = 0.2, −1.6, 0.8, 1 → 0, −1, 1, 1.
        let w: [Double] = [0.1, -0.8, 0.4, 0.7, -0.5, 0.5]
        var out = [Double](repeating: 9, count: 6)
        let alpha = w.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { FakeQuant.ternary(p.baseAddress!, count: 6, into: $0.baseAddress!) }
        }
        #expect(abs(alpha - 0.5) < 1e-15)
        #expect(out == [0, -0.5, 0.5, 0.5, -0.5, 0.5])
    }

    @Test("edge cases give finite values: zero rows, one element, constant rows, huge and tiny values")
    func edgeCases() {
        var rows: [[Double]] = [[0, 0, 0, 0], [0], [5], [-3, -3, -3, -3]]
        rows.append([1e30, -1e30, 1, 0])
        rows.append([1e-30, 0, -1e-30, 1e-30])
        rows.append([-0.0, 0, 0, 0])
        rows.append([])
        let quantizers: [QATActivationQuantizer] = [.int8Absmax, .int4Absmean, .topHalfInt8]
        for quantizer in quantizers {
            for row in rows {
                var x = row
                x.withUnsafeMutableBufferPointer { p in
                    if let base = p.baseAddress { FakeQuant.apply(quantizer, base, rows: 1, dim: p.count) }
                }
                #expect(x.allSatisfy { $0.isFinite }, "\(quantizer) of \(row) gave \(x)")
                if row.allSatisfy({ $0 == 0 }) { #expect(x.allSatisfy { $0 == 0 }) }
            }
        }
        for row in rows where !row.isEmpty {
            var out = row
            row.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer {
                    _ = FakeQuant.ternary(p.baseAddress!, count: p.count, into: $0.baseAddress!)
                }
            }
            #expect(out.allSatisfy { $0.isFinite }, "ternary of \(row) gave \(out)")
        }
        // NaN stays NaN (the loss shows it) instead of trapping in an integer conversion.
        var bad: [Float] = [1, .nan, 2, 3]
        bad.withUnsafeMutableBufferPointer { FakeQuant.int8Absmax($0.baseAddress!, count: 4) }
        #expect(bad[1].isNaN)
    }

    @Test("an all-zero model trains under QAT without NaN", arguments: QuantizationScheme.allCases)
    func zeroModelIsFinite(scheme: QuantizationScheme) throws {
        var config = TinyConfig.small(act: .reluSquaredGLU)
        config.quantization = scheme
        let model = try LlamaModel<Float>(config: config)  // every matrix zero, norms one
        let loss = model.backwardCrossEntropy(model.forward(TokenBatch(sequences: [[1, 4, 5, 6], [1, 9]])))
        #expect(loss.isFinite)
        #expect(model.gradients.array.allSatisfy { $0.isFinite })
    }

    @Test(
        "incremental decoding with the KV cache equals the full forward under QAT",
        arguments: QuantizationScheme.allCases)
    func cacheMatchesForward(scheme: QuantizationScheme) throws {
        var config = TinyConfig.small(act: .reluSquaredGLU)
        config.quantization = scheme
        let model = try LlamaModel<Double>(config: config, seed: 3)
        let sequence = [1, 7, 3, 12, 28, 5, 5, 9]
        let pass = model.forward(TokenBatch(sequences: [sequence]))
        let cache = KVCache<Double>(config: model.config, slots: 1, capacity: 16)
        for (t, token) in sequence.enumerated() {
            let logits = model.extend(cache, slots: [0], tokens: [[token]])[0]
            #expect(maxAbsDiff(logits, pass.logits(sequence: 0, position: t)) < 1e-10)
        }
    }

    @Test("weights are quantized once per optimizer step and follow the update")
    func weightQuantizationPerStep() throws {
        var config = TinyConfig.small(act: .reluSquaredGLU)
        config.quantization = .b158
        let model = try LlamaModel<Double>(config: config, seed: 5)
        let optimizer = AdamW(model: model)
        let batch = TokenBatch(sequences: [[1, 4, 5, 6, 7], [1, 9, 3]])
        model.zeroGradients()
        model.backwardCrossEntropy(model.forward(batch), scale: 0.5)
        #expect(model.quantizedWeightsCurrent)
        // A second micro-batch reuses the quantized weights; the update marks them stale.
        model.backwardCrossEntropy(model.forward(batch), scale: 0.5)
        optimizer.update(model, lr: 1e-2)
        #expect(!model.quantizedWeightsCurrent)
        _ = model.forward(batch)
        let q = model.layout.layers[1].q
        let entry = try #require(model.layout.entries.first { $0.offset == q })
        var expected = [Double](repeating: 0, count: entry.count)
        expected.withUnsafeMutableBufferPointer {
            _ = FakeQuant.ternary(model.w(q), count: entry.count, into: $0.baseAddress!)
        }
        let got = Array(UnsafeBufferPointer(start: model.lw(q), count: entry.count))
        #expect(got == expected)
        #expect(Set(got).count <= 3)
    }

    @Test("switching quantization off restores the plain model exactly")
    func offIsUnchanged() throws {
        let config = TinyConfig.small(act: .reluSquaredGLU)
        let plain = try LlamaModel<Double>(config: config, seed: 9)
        let switched = try LlamaModel<Double>(config: config, seed: 9)
        let batch = TokenBatch(sequences: [[1, 4, 5, 6, 7], [1, 9, 3]])
        try switched.setQuantization(.a48)
        let quantized = switched.forward(batch).meanCrossEntropy
        try switched.setQuantization(nil)
        #expect(switched.config == config)
        plain.zeroGradients()
        switched.zeroGradients()
        let a = plain.backwardCrossEntropy(plain.forward(batch))
        let b = switched.backwardCrossEntropy(switched.forward(batch))
        #expect(a == b)
        #expect(quantized != a)
        #expect(plain.gradients.array == switched.gradients.array)
    }

    @Test("config.json records the scheme; a4.8 needs relu2; a bad scheme is a clear error")
    func configRecordsScheme() throws {
        var config = TinyConfig.small(act: .reluSquaredGLU)
        config.quantization = .a48
        let data = try JSONEncoder().encode(config)
        let parsed = try JSONSerialization.jsonObject(with: data)
        let object = try #require(parsed as? [String: Any])
        let section = try #require(object["quantization"] as? [String: Any])
        #expect(section["scheme"] as? String == "a4.8")
        #expect(try JSONDecoder().decode(LlamaConfig.self, from: data) == config)
        #expect(object["quantization_config"] == nil)
        let plain = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TinyConfig.small())) as? [String: Any]
        #expect(plain?["quantization"] == nil)

        config.hiddenAct = .swiGLU
        #expect(throws: ModelError.self) { try config.validate() }
        let model = try LlamaModel<Float>(config: TinyConfig.small())
        #expect(throws: ModelError.self) { try model.setQuantization(.a48) }
        try model.setQuantization(.b158)

        let bad =
            #"{"hidden_size":8,"intermediate_size":8,"num_attention_heads":2,"num_hidden_layers":1,"vocab_size":5,"quantization":{"scheme":"q3"}}"#
        #expect(throws: (any Error).self) { try JSONDecoder().decode(LlamaConfig.self, from: Data(bad.utf8)) }
    }
}
