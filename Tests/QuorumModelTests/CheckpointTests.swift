import Foundation
import QuorumTensor
import Testing

@testable import QuorumModel

/// Hugging Face interoperability: fixtures made by `ops/fixtures/make_llama_fixture.py`
/// (random-weight `LlamaForCausalLM`s and the logits PyTorch computed for them).
@Suite("Hugging Face checkpoints")
struct CheckpointTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        .path

    @Test("logits match transformers within 1e-4", arguments: ["llama-swiglu", "llama-relu2-tied"])
    func logitsMatchTransformers(name: String) throws {
        let folder = Self.fixtures + "/" + name
        let model = try LlamaModel<Float>.load(directory: folder)
        let reference = try LlamaModel<Float>.readTensors(path: folder + "/reference.safetensors")
        var sequences: [[Int]] = []
        var expected: [[Float]] = []
        var i = 0
        while let ids = reference["input_ids_\(i)"], let logits = reference["logits_\(i)"] {
            sequences.append(ids.storage.map { Int($0) })
            expected.append(logits.storage)
            i += 1
        }
        try #require(sequences.count == 2)
        let pass = model.forward(TokenBatch(sequences: sequences))
        var worst = 0.0
        for (b, want) in expected.enumerated() {
            let rows = pass.rows(ofSequence: b)
            let got = Array(
                UnsafeBufferPointer(
                    start: pass.logits.pointer + rows.lowerBound * model.config.vocabSize,
                    count: rows.count * model.config.vocabSize))
            worst = max(worst, maxAbsDiff(got, want))
        }
        let scale = expected.flatMap { $0 }.reduce(0) { max($0, abs($1)) }
        reportValue("HF \(name) logits max abs diff (max |logit| \(scale))", worst)
        #expect(worst < 1e-4, "max abs diff \(worst)")
        // The KV-cache path agrees with transformers too.
        let cache = KVCache<Float>(config: model.config, slots: 1, capacity: 16)
        var decoded: [Float] = []
        for t in sequences[0] { decoded += model.extend(cache, slots: [0], tokens: [[t]])[0] }
        #expect(maxAbsDiff(decoded, expected[0]) < 1e-4)
    }

    @Test("config.json round-trips and reads transformers 5's rope_parameters")
    func configRoundTrip() throws {
        let config = try LlamaConfig.load(path: Self.fixtures + "/llama-relu2-tied/config.json")
        #expect(config.ropeTheta == 500_000)
        #expect(config.hiddenAct == .reluSquaredGLU)
        #expect(config.tieWordEmbeddings)
        #expect(config.numKeyValueHeads == 1)
        #expect(config.headDim == 8)
        let data = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(LlamaConfig.self, from: data) == config)
        let scaled =
            #"{"hidden_size":8,"intermediate_size":8,"num_attention_heads":2,"num_hidden_layers":1,"vocab_size":5,"rope_scaling":{"rope_type":"llama3","factor":8}}"#
        #expect(throws: (any Error).self) { try JSONDecoder().decode(LlamaConfig.self, from: Data(scaled.utf8)) }
    }

    @Test("save then load gives the same weights and logits", arguments: [false, true])
    func saveLoad(tied: Bool) throws {
        let model = try LlamaModel<Float>(config: TinyConfig.small(tied: tied), seed: 11)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quorum-model-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try model.save(directory: folder)
        let loaded = try LlamaModel<Float>.load(directory: folder)
        #expect(loaded.config == model.config)
        #expect(loaded.parameters.array == model.parameters.array)
        let names = try LlamaModel<Float>.readTensors(path: folder + "/model.safetensors").keys.sorted()
        #expect(names.contains("model.layers.1.mlp.down_proj.weight"))
        #expect(names.contains("lm_head.weight") == !tied)
    }

    @Test("a missing tensor is reported by name")
    func missingTensor() throws {
        let model = try LlamaModel<Float>(config: TinyConfig.small(tied: false), seed: 12)
        #expect(throws: ModelError.self) {
            try model.loadWeights(path: Self.fixtures + "/llama-relu2-tied/model.safetensors")
        }
    }
}

/// Prints a measured value when `QUORUM_REPORT=1` (used to collect error magnitudes for notes).
func reportValue(_ label: String, _ value: Double) {
    if ProcessInfo.processInfo.environment["QUORUM_REPORT"] == "1" { print("REPORT \(label): \(value)") }
}
