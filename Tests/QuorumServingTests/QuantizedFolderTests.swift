import Foundation
import QuorumModel
import QuorumQuant
import SafeTensors
import Testing

@testable import QuorumServing

@Suite struct QuantizedFolderTests {
    func temporaryFolder() -> String {
        let path = NSTemporaryDirectory() + "quorum-serving-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test(arguments: ServingFormat.allCases)
    func saveAndLoadGiveTheSameModel(format: ServingFormat) throws {
        let model = try randomModel(act: format == .a48 ? .reluSquaredGLU : .swiGLU, tied: format != .w8a8)
        let weights = try ServingWeights(model: model, format: format)
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try weights.save(directory: folder)
        #expect(try ServingWeights.quantization(directory: folder)?.format == format.rawValue)
        let loaded = try ServingModel.load(directory: folder)
        #expect(loaded.format == format)
        let sequence = randomTokens(10, vocab: model.config.vocabSize, seed: 8)
        #expect(loaded.logits([sequence]) == (try ServingModel(weights: weights)).logits([sequence]))
        // Asking for the format it has is fine; another one is a clear error.
        _ = try ServingModel.load(directory: folder, format: format)
        let other: ServingFormat = format == .fp32 ? .bf16 : .fp32
        let error = #expect(throws: ServingError.self) { try ServingModel.load(directory: folder, format: other) }
        #expect(error?.description.contains("cannot be served as \(other.rawValue)") == true)
    }

    @Test func plainFolderIsQuantizedOnLoad() throws {
        let model = try randomModel()
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try model.save(directory: folder)
        let served = try ServingModel.load(directory: folder, format: .w8a8)
        let direct = try ServingModel(model: model, format: .w8a8)
        let sequence = randomTokens(6, vocab: model.config.vocabSize, seed: 2)
        #expect(served.logits([sequence]) == direct.logits([sequence]))
        #expect(try ServingModel.load(directory: folder).format == .fp32)
    }

    @Test func trainedSchemeIsTheDefaultFormat() throws {
        let model = try randomModel()
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try model.save(directory: folder)
        // What quantization-aware training writes beside its latent fp32 weights.
        let path = folder + "/config.json"
        var object =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        object["quantization"] = ["scheme": "b1.58", "storage": "the stored weights are the fp32 latent weights"]
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        #expect(try ServingWeights.quantization(directory: folder) == nil)
        #expect(try ServingModel.load(directory: folder).format == .b158)
        #expect(try ServingModel.load(directory: folder, format: .fp32).format == .fp32)
        // Quantizing it writes a packed folder without the latent-weights section.
        let packed = folder + "/packed"
        try ServingWeights(model: model, format: .b158).save(directory: packed)
        let saved = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: packed + "/config.json")))
        #expect((saved as! [String: Any])["quantization"] == nil)
        #expect(try ServingModel.load(directory: packed).format == .b158)
    }

    /// Rewrites `folder/model.safetensors` with `edit` applied to its tensors.
    func rewrite(_ folder: String, _ edit: (inout [RawTensor]) -> Void) throws {
        let path = folder + "/model.safetensors"
        let file = try SafeTensorsFile(path: path)
        var tensors = try file.tensors.map {
            RawTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: try file.read($0))
        }
        edit(&tensors)
        try SafeTensorsWriter.write(tensors, metadata: file.metadata, to: path)
    }

    @Test func malformedFoldersGiveClearErrors() throws {
        let model = try randomModel()
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let weights = try ServingWeights(model: model, format: .w4a16)
        func expectError(_ fragment: String) {
            let error = #expect(throws: ServingError.self) { try ServingModel.load(directory: folder) }
            #expect(error?.description.contains(fragment) == true, "\(error?.description ?? "no error")")
        }
        // A missing packed tensor.
        try weights.save(directory: folder)
        try rewrite(folder) { $0.removeAll { $0.name == "model.layers.1.mlp.up_proj.weight.packed" } }
        expectError("lacks \"model.layers.1.mlp.up_proj.weight.packed\"")
        // A packed tensor of the wrong shape.
        try weights.save(directory: folder)
        try rewrite(folder) { tensors in
            let i = tensors.firstIndex { $0.name == "model.layers.0.self_attn.q_proj.weight.packed" }!
            tensors[i].shape = [tensors[i].shape[0] / 2, tensors[i].shape[1] * 2]
        }
        expectError("has shape")
        // Missing scales.
        try weights.save(directory: folder)
        try rewrite(folder) { $0.removeAll { $0.name == "model.layers.0.mlp.down_proj.weight.scales" } }
        expectError("has 0 scales")
        // A tensor the config has no place for.
        try weights.save(directory: folder)
        try rewrite(folder) { $0.append(RawTensor(name: "extra", dtype: .f32, shape: [1], bytes: [0, 0, 0, 0])) }
        expectError("\"extra\"")
        // An unknown format in the config.
        try weights.save(directory: folder)
        let configPath = folder + "/config.json"
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"w4a16\"", with: "\"w3a7\"").write(
            toFile: configPath, atomically: true, encoding: .utf8)
        expectError("unknown format \"w3a7\"")
        // Not a folder.
        let error = #expect(throws: ServingError.self) { try ServingModel.load(directory: folder + "/nope") }
        #expect(error?.description.contains("is not a folder") == true)
    }
}
