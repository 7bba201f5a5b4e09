import Foundation
import QuorumModel
import QuorumTasks
import QuorumTensor
import QuorumTokenizer
import Testing

@testable import QuorumTraining
import QuorumCore

/// A few short problems and a tokenizer learned from them.
private func smallProblems(_ count: Int, seed: UInt64 = 7) throws -> [Problem] {
    try ProblemGenerator(config: GeneratorConfig(minSteps: 1, maxSteps: 1, maxNumber: 10))
        .generate(split: .train, count: count, seed: seed)
}

private func smallTokenizer(_ problems: [Problem]) throws -> BPETokenizer {
    try SFTData.trainTokenizer(on: problems, vocabSize: 320, pattern: .llama3SingleDigits)
}

/// The tiny run every checkpoint test shares: 4 one-step problems, a 2-layer width-64 model,
/// 60 steps. Trained once (lazily, thread-safely) and saved; tests load the folder.
private let tinyRun: Result<String, TrainingError> = {
    var config = SFTConfig.tiny(steps: 60)
    config.devCount = 2
    config.maxNewTokens = 48
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("quorum-training-tests-\(ProcessInfo.processInfo.processIdentifier)").path
    return Result { () throws(TrainingError) -> String in
        let checkpoint = try SFTTrainer(config: config).run()
        try checkpoint.save(directory: folder)
        return folder
    }
}()

@Suite("Prompt format and SFT data")
struct PromptFormatTests {
    @Test("prompt is BOS + question + answer prefix; response is solution + EOS")
    func layout() throws {
        let problems = try smallProblems(3)
        let tokenizer = try smallTokenizer(problems)
        let format = PromptFormat.standard
        let (prompt, response) = format.example(for: problems[0], tokenizer: tokenizer)
        #expect(prompt.first == Int(try #require(tokenizer.bosID)))
        #expect(response.last == Int(try #require(tokenizer.eosID)))
        #expect(
            tokenizer.decode(prompt.dropFirst().map { Int32($0) })
                == "Question: \(problems[0].question)\nAnswer:\n")
        #expect(format.responseText(response, tokenizer: tokenizer) == problems[0].solution)
        #expect(format.answer(of: response, tokenizer: tokenizer) == problems[0].answer)
    }

    @Test("only response tokens are scored, and the loss is their mean cross-entropy")
    func lossMask() throws {
        let problems = try smallProblems(3)
        let tokenizer = try smallTokenizer(problems)
        let examples = SFTData.examples(problems, tokenizer: tokenizer)
        let batch = SFTData.batch(examples)
        let scored = try #require(batch.scored)
        for (flags, example) in zip(scored, examples) {
            #expect(
                flags == Array(repeating: false, count: example.prompt.count)
                    + Array(repeating: true, count: example.response.count))
        }
        let config = LlamaConfig(
            hiddenSize: 32, intermediateSize: 64, numAttentionHeads: 2, numKeyValueHeads: 2, numHiddenLayers: 1,
            vocabSize: tokenizer.vocabSize, maxPositionEmbeddings: 256)
        let model = try LlamaModel<Float>(config: config, seed: 3)
        let pass = model.forward(batch)
        #expect(pass.scoredCounts == examples.map(\.response.count))
        // Recompute the loss by hand from the logits: −log softmax over the response tokens only.
        var total = 0.0
        var count = 0
        for (b, example) in examples.enumerated() {
            let tokens = example.prompt + example.response
            for t in example.prompt.count..<tokens.count {
                let logits = pass.logits(sequence: b, position: t - 1).map(Double.init)
                let m = logits.max()!
                let lse = m + Foundation.log(logits.reduce(0) { $0 + Foundation.exp($1 - m) })
                total += lse - logits[tokens[t]]
                count += 1
            }
        }
        #expect(abs(total / Double(count) - Double(pass.meanCrossEntropy)) < 1e-4)
    }

    @Test("generation stops after a finished #### line, not before")
    func stopRule() throws {
        let problems = try smallProblems(3)
        let tokenizer = try smallTokenizer(problems)
        let format = PromptFormat.standard
        func tokens(_ text: String) -> [Int] { tokenizer.encode(text).map(Int.init) }
        #expect(!format.isFinished(tokens("Tom has 3 + 4 = 7 apples.\n"), tokenizer: tokenizer))
        #expect(!format.isFinished(tokens("Tom has 7 apples.\n#### 7"), tokenizer: tokenizer))
        #expect(format.isFinished(tokens("Tom has 7 apples.\n#### 7\n"), tokenizer: tokenizer))
        #expect(format.answer(of: tokens("x\n#### 1,234\n"), tokenizer: tokenizer) == "1234")
    }

    @Test("operand swapping keeps every line true and only touches + and *")
    func swapOperands() {
        var rng = SplitMix64(seed: 1)
        let solution = "He has 8 * 6 = 48 beads.\nThen 48 + 20 = 68 beads.\nHe gives 68 - 5 = 63 away.\n#### 63"
        let always = SFTData.swappingOperands(solution, probability: 1, rng: &rng)
        #expect(always == "He has 6 * 8 = 48 beads.\nThen 20 + 48 = 68 beads.\nHe gives 68 - 5 = 63 away.\n#### 63")
        #expect(SFTData.swappingOperands(solution, probability: 0, rng: &rng) == solution)
    }

    @Test("the epoch sampler visits every example once per epoch, reproducibly")
    func sampler() {
        var a = EpochSampler(exampleCount: 10, batchSize: 3, seed: 5)
        var b = EpochSampler(exampleCount: 10, batchSize: 3, seed: 5)
        let first = (0..<3).flatMap { _ in a.next() }
        #expect(Set(first).count == 9)
        #expect(first == (0..<3).flatMap { _ in b.next() })
        #expect(a.epoch == 1)
        _ = a.next()
        #expect(a.epoch == 2)
    }
}

@Suite("Majority vote")
struct MajorityVoteTests {
    @Test("the most frequent answer wins; no answer casts no vote")
    func plurality() {
        #expect(MajorityVote.winner(["3", nil, "5", "5", nil, nil, "3", "5"]) == "5")
        #expect(MajorityVote.winner([nil, nil]) == nil)
        #expect(MajorityVote.winner([]) == nil)
        #expect(MajorityVote.votes(for: "5", in: ["5", nil, "5"]) == 2)
    }

    @Test(
        "ties go to the answer that appears first",
        arguments: [
            ([nil, "7", "4", "4", "7"], "7"),
            (["4", "7", "7", "4"], "4"),
            (["1", "2", "3"], "1"),
            ([nil, "9", nil, "2", "2", "9", "8"], "9"),
        ] as [([String?], String)])
    func ties(answers: [String?], expected: String) {
        #expect(MajorityVote.winner(answers) == expected)
    }
}

@Suite("Configuration")
struct ConfigTests {
    @Test("absent keys keep defaults; unknown keys are rejected")
    func partialAndUnknown() throws {
        let folder = FileManager.default.temporaryDirectory
        let good = folder.appendingPathComponent("sft-config-\(UUID().uuidString).json")
        try Data(#"{"steps": 12, "warmup": 2, "kv_heads": 2, "_note": "comment"}"#.utf8).write(to: good)
        let config = try SFTConfig.load(path: good.path)
        #expect(config.steps == 12 && config.kvHeads == 2 && config.hidden == SFTConfig().hidden)
        #expect(config.maxResult == nil && config.generator.resultLimit == 500)
        let capped = folder.appendingPathComponent("sft-config-\(UUID().uuidString).json")
        try Data(#"{"max_number": 20, "max_result": 99, "operations": "+-*"}"#.utf8).write(to: capped)
        let cappedConfig = try SFTConfig.load(path: capped.path)
        #expect(cappedConfig.generator.resultLimit == 99 && cappedConfig.generator.operations == "+-*")
        #expect(config.operations == nil && config.generator.allowedOperations.count == 4)
        let tooLow = folder.appendingPathComponent("sft-config-\(UUID().uuidString).json")
        try Data(#"{"max_number": 20, "max_result": 19}"#.utf8).write(to: tooLow)
        #expect(throws: TrainingError.self) { try SFTConfig.load(path: tooLow.path) }
        let bad = folder.appendingPathComponent("sft-config-\(UUID().uuidString).json")
        try Data(#"{"stpes": 12}"#.utf8).write(to: bad)
        defer { for file in [good, capped, tooLow, bad] { try? FileManager.default.removeItem(at: file) } }
        #expect(throws: TrainingError.self) { try SFTConfig.load(path: bad.path) }
        var invalid = SFTConfig()
        invalid.heads = 3
        #expect(throws: TrainingError.self) { try invalid.validate() }
    }

    @Test(
        "the committed seed-model configurations load and are valid",
        arguments: ["seed-model.json", "seed-model-small.json"])
    func committedSeedConfig(file: String) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("pipelines/\(file)").path
        let config = try SFTConfig.load(path: path)
        try config.validate()
        #expect(config.steps > 0)
    }
}

@Suite("Training a tiny model")
struct TinyTrainingTests {
    @Test("memorises a handful of problems: loss falls and greedy accuracy reaches 100 %")
    func memorises() throws {
        let folder = try tinyRun.get()
        let checkpoint = try Checkpoint.load(directory: folder)
        let record = try #require(checkpoint.record)
        let firstLoss = record.losses.prefix(3).reduce(0, +) / 3
        let lastLoss = record.losses.suffix(3).reduce(0, +) / 3
        #expect(lastLoss < firstLoss / 4, "loss \(firstLoss) → \(lastLoss)")
        let problems = try ProblemGenerator(config: record.config.generator)
            .generate(split: .train, count: record.config.trainCount, seed: record.config.dataSeed)
        let evaluator = Evaluator(model: checkpoint.model, tokenizer: checkpoint.tokenizer, maxNewTokens: 48)
        let (result, outcomes) = evaluator.evaluate(problems, k: 2, seed: 1)
        #expect(result.greedyAccuracy == 1, "\(outcomes)")
        #expect(result.count == 4 && result.k == 2)
    }

    @Test("the training record holds config, per-step losses, timings and the dev evaluation")
    func recordFields() throws {
        let record = try #require(try Checkpoint.load(directory: try tinyRun.get()).record)
        #expect(record.kind == "sft")
        #expect(record.config.steps == 60 && record.losses.count == 60 && record.gradientNorms.count == 60)
        #expect(record.losses.allSatisfy { $0.isFinite })
        #expect(record.trainExamples == 4 && record.meanExampleTokens > 0)
        #expect(record.model.numHiddenLayers == 2 && record.model.vocabSize == record.vocabulary)
        #expect(record.parameters > 0)
        #expect(record.timings.tokens > 0 && record.timings.trainSeconds > 0 && record.timings.tokensPerSecond > 0)
        #expect(record.evaluations.count == 1 && record.evaluations[0].step == 60 && record.evaluations[0].count == 2)
        #expect(record.promptFormat == .standard)
        #expect(!record.started.isEmpty && !record.finished.isEmpty)
    }

    @Test("a checkpoint folder round-trips: same files, same tokenizer, same logits")
    func roundTrip() throws {
        let folder = try tinyRun.get()
        let original = try Checkpoint.load(directory: folder)
        for file in ["config.json", "model.safetensors", "tokenizer.json", "training_record.json"] {
            #expect(FileManager.default.fileExists(atPath: folder + "/" + file), "\(file) is missing")
        }
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("quorum-ckpt-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try original.save(directory: copy)
        let reloaded = try Checkpoint.load(directory: copy)
        #expect(reloaded.record == original.record)
        let text = "Question: Ann has 3 apples.\nAnswer:\n#### 3"
        #expect(reloaded.tokenizer.encode(text) == original.tokenizer.encode(text))
        let tokens = original.tokenizer.encode(text).map(Int.init)
        let a = original.model.forward(TokenBatch(sequences: [tokens])).logits.array
        let b = reloaded.model.forward(TokenBatch(sequences: [tokens])).logits.array
        #expect(a == b)
    }

    @Test("loading a folder without a checkpoint says what to pass")
    func missingFolder() {
        #expect(throws: TrainingError.self) { try Checkpoint.load(directory: "/nonexistent/quorum-ckpt") }
    }
}
