import Foundation
import GGUF
import QuorumModel
import QuorumTokenizer
import Testing

@testable import QuorumExport

/// The small trained model the integration tests also use.
private let tinyModel = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../QuorumIntegrationTests/Fixtures/tiny-arith").standardizedFileURL.path

@Suite("GGUF export")
struct LlamaGGUFExportTests {
    @Test func anF32ExportHoldsTheSameWeightsAndTheTokenizer() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try LlamaGGUFExport(type: .f32).write(modelDirectory: tinyModel, to: out)
        let reader = try GGUFReader(path: out)
        #expect(summary.tensors == reader.tensors.count)
        #expect(summary.byType.reduce(0) { $0 + $1.tensors } == reader.tensors.count)

        // Weights that are not reordered for RoPE arrive bit for bit.
        let original = try LlamaModel<Float>.readTensors(path: tinyModel + "/model.safetensors")
        let embedding = try #require(reader.tensor("token_embd.weight") as GGUFTensorInfo?)
        #expect(try reader.values(of: embedding) == original["model.embed_tokens.weight"]!.storage)
        let down = try #require(reader.tensor("blk.0.ffn_down.weight") as GGUFTensorInfo?)
        #expect(try reader.values(of: down) == original["model.layers.0.mlp.down_proj.weight"]!.storage)

        let metadata = Dictionary(uniqueKeysWithValues: reader.metadata.map { ($0.key, $0.value) })
        let tokenizer = try BPETokenizer(tokenizerJSON: URL(fileURLWithPath: tinyModel + "/tokenizer.json"))
        let tokens = (metadata["tokenizer.ggml.tokens"]?.elements ?? []).compactMap { $0.string }
        #expect(tokens.count == tokenizer.vocabSize)
        #expect(tokens[297] == "<|bos|>")
        #expect(metadata["tokenizer.ggml.bos_token_id"]?.integer == 297)
        #expect(metadata["tokenizer.ggml.pre"]?.string == "qwen2")
    }

    @Test func idsTheTokenizerDoesNotUseBecomeUnusedPadding() throws {
        let tokenizer = try BPETokenizer(tokenizerJSON: URL(fileURLWithPath: tinyModel + "/tokenizer.json"))
        var config = try LlamaConfig.load(path: tinyModel + "/config.json")
        config.vocabSize = tokenizer.vocabSize + 4
        let gguf = try LlamaGGUFExport(type: .f32).ggufTokenizer(tokenizer, config: config, path: "tokenizer.json")
        #expect(gguf.tokens.count == config.vocabSize)
        #expect(gguf.tokens.last == "[PAD\(config.vocabSize - 1)]")
        #expect(gguf.tokenTypes.suffix(4).allSatisfy { $0 == LlamaGGUF.TokenType.unused })
        #expect(gguf.tokenTypes[297] == LlamaGGUF.TokenType.control)
        #expect(gguf.tokenTypes[10] == LlamaGGUF.TokenType.normal)

        config.vocabSize = tokenizer.vocabSize - 1
        #expect(throws: ExportError.self) {
            try LlamaGGUFExport(type: .f32).ggufTokenizer(tokenizer, config: config, path: "tokenizer.json")
        }
    }

    @Test func aMissingFolderIsAClearError() {
        let error = #expect(throws: ExportError.self) {
            try LlamaGGUFExport(type: .q8_0).write(modelDirectory: "/nonexistent/model", to: "/tmp/never.gguf")
        }
        #expect(error?.description.contains("config.json") == true)
    }

    @Test func splittingRulesMapToLlamaCppNames() {
        #expect(LlamaGGUFExport.llamaCppName(.llama3SingleDigits) == "qwen2")
        #expect(LlamaGGUFExport.llamaCppName(.llama3) == "llama-bpe")
        #expect(LlamaGGUFExport.llamaCppName(.gpt2) == "gpt-2")
    }
}
