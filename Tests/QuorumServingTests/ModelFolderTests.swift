import Foundation
import QuorumModel
import QuorumServing
import QuorumTraining
import Testing

/// The one loader of a model folder: plain folders as the fp32 model or quantized on load, quantized
/// folders in their own format, and `format` always naming what runs.
@Suite struct ModelFolderTests {
    /// A checkpoint folder from a two-step SFT run of a tiny model.
    static func tinyFolder() throws -> String {
        var config = SFTConfig()
        config.trainCount = 4
        config.minSteps = 1
        config.maxSteps = 1
        config.maxNumber = 10
        config.vocabSize = 320
        config.layers = 1
        config.hidden = 64
        config.heads = 4
        config.kvHeads = 2
        config.intermediate = 128
        config.maxPositions = 160
        config.steps = 2
        config.batch = 4
        config.warmup = 1
        config.evalEvery = 0
        config.devCount = 0
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "model-folder-\(UInt32.random(in: 0...UInt32.max))"
        ).path
        try SFTTrainer(config: config).run().save(directory: folder)
        return folder
    }

    @Test func loadsPlainFoldersAsTheyAreOrInAServingFormat() throws {
        let folder = try Self.tinyFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let plain = try ModelFolder.load(directory: folder)
        #expect(plain.format == nil && plain.formatName == "fp32")
        #expect(plain.generator is LlamaModel<Float>)
        #expect(plain.record != nil && plain.tokenizer.vocabSize <= 320)

        let served = try ModelFolder.load(directory: folder, format: .w8a8)
        #expect(served.format == .w8a8 && served.formatName == "w8a8")
        #expect(served.generator is ServingModel)

        // Greedy decoding of the fp32 serving model matches the training model token for token.
        let prompt = plain.promptFormat.promptTokens(question: "What is 3 + 4?", tokenizer: plain.tokenizer)
        let reference = try ModelFolder.load(directory: folder, format: .fp32)
        let a = plain.generator.generate(
            prompts: [prompt], parameters: .greedy(maxNewTokens: 12), streams: [0], eosTokenId: nil,
            maxBatchSize: 1, stop: { _, _ in false })
        let b = reference.generator.generate(
            prompts: [prompt], parameters: .greedy(maxNewTokens: 12), streams: [0], eosTokenId: nil,
            maxBatchSize: 1, stop: { _, _ in false })
        #expect(a.map(\.tokens) == b.map(\.tokens))
    }

    @Test func aMissingFolderSaysWhatIsWrong() {
        #expect(throws: (any Error).self) { try ModelFolder.load(directory: "/nonexistent/model") }
    }
}
