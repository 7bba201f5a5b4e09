import Foundation
import QuorumModel
import Testing

@testable import QuorumTraining

/// `quorum train sft --quant`: the BitNet a4.8 two-stage recipe in the SFT trainer.
@Suite("Quantization-aware SFT")
struct QATTrainingTests {
    /// A tiny ReLU²GLU run (the shape of the shared tiny run in TrainingTests).
    static func tinyConfig(quant: String, steps: Int = 10) -> SFTConfig {
        var config = SFTConfig.tiny(steps: steps)
        config.hiddenAct = "relu2"
        config.warmup = 2
        config.quant = quant
        return config
    }

    @Test("a4.8 runs b1.58 then a4.8 on one model and optimiser; the record and config.json say so")
    func twoStages() throws {
        var config = Self.tinyConfig(quant: "a4.8", steps: 10)
        config.quantStage1Fraction = 0.7
        var schemes: [String?] = []
        var stageLines: [String] = []
        let checkpoint = try SFTTrainer(config: config).run { event in
            switch event {
            case .step(let s): schemes.append(s.quantization)
            case .stage(let text) where text.hasPrefix("QAT"): stageLines.append(text)
            default: break
            }
        }
        #expect(schemes == Array(repeating: "b1.58", count: 7) + Array(repeating: "a4.8", count: 3))
        #expect(stageLines.count == 2)
        #expect(stageLines.last?.contains("same AdamW state") == true)
        let record = try #require(checkpoint.record)
        let stages = try #require(record.quantStages)
        #expect(stages.map(\.scheme) == ["b1.58", "a4.8"])
        #expect(stages.map(\.firstStep) == [1, 8])
        #expect(stages.map(\.lastStep) == [7, 10])
        #expect(stages.allSatisfy { $0.tokensPerSecond > 0 })
        #expect(record.model.quantization == .a48)
        #expect(record.losses.allSatisfy { $0.isFinite })
        // The first steps learn something even with ternary weights.
        #expect(record.losses.suffix(3).reduce(0, +) < record.losses.prefix(3).reduce(0, +))

        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("quorum-qat-tests-\(ProcessInfo.processInfo.processIdentifier)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try checkpoint.save(directory: folder)
        let text = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
        #expect(text.contains("\"scheme\" : \"a4.8\""))
        let loaded = try Checkpoint.load(directory: folder)
        #expect(loaded.model.quantization == .a48)
        #expect(loaded.record?.quantStages == stages)
    }

    @Test("b1.58 is one stage; floating point has none")
    func singleStage() throws {
        #expect(SFTConfig().quantStages.isEmpty)
        let b158 = Self.tinyConfig(quant: "b1.58", steps: 4).quantStages
        #expect(b158.map(\.scheme) == [.b158])
        #expect(b158.map(\.steps) == [0..<4])
        var all = Self.tinyConfig(quant: "a4.8", steps: 4)
        all.quantStage1Fraction = 0
        #expect(all.quantStages.map(\.scheme) == [.a48])
        #expect(all.llamaConfig(vocabulary: 320, bos: 1, eos: 2).quantization == .a48)
        let checkpoint = try SFTTrainer(config: Self.tinyConfig(quant: "b1.58", steps: 3)).run()
        #expect(checkpoint.record?.quantStages?.map(\.scheme) == ["b1.58"])
        #expect(checkpoint.model.quantization == .b158)
    }

    @Test("bad quant settings are clear errors")
    func validation() {
        var config = Self.tinyConfig(quant: "int3")
        #expect(throws: TrainingError.self) { try config.validate() }
        config = Self.tinyConfig(quant: "a4.8")
        config.hiddenAct = "silu"
        do {
            try config.validate()
            Issue.record("a4.8 with silu must not validate")
        } catch {
            #expect(error.message.contains("relu2"))
        }
        config = Self.tinyConfig(quant: "a4.8")
        config.quantStage1Fraction = 1.5
        #expect(throws: TrainingError.self) { try config.validate() }
        #expect(throws: Never.self) { try Self.tinyConfig(quant: "none").validate() }
    }
}
