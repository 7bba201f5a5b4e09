import Foundation
import QuorumModel
import QuorumTensor
import SCPO
import Testing

/// Short runs of the trainer on a tiny model.
@Suite("SCPO trainer")
struct TrainerTests {
    static func config(mode: SCPOMode = .scpo, epochs: Int = 6) -> SCPOConfig {
        var c = SCPOConfig()
        c.mode = mode
        c.epochs = epochs
        c.lr = 3e-3
        c.batch = 4
        c.microBatch = 3
        c.seed = 5
        return c
    }

    @Test("chosen log-probs rise relative to rejected ones")
    func preferenceLearned() throws {
        let model = try LlamaModel<Float>(config: TinyShapes.training(), seed: 21)
        let pairs = randomPairs(count: 10, vocab: 29, seed: 8, weights: [1, 0.5, 0.75])
        let record = try SCPOTrainer(config: Self.config()).run(policy: model, pairs: pairs)
        #expect(record.totalSteps == 6 * 3)
        #expect(record.stepLosses.count == record.totalSteps)
        let first = try #require(record.epochs.first?.train)
        let last = try #require(record.epochs.last?.train)
        print(
            "SCPO-TEST training: loss \(first.loss) → \(last.loss), margin \(first.rewardMargin!) → "
                + "\(last.rewardMargin!), accuracy \(first.rewardAccuracy!) → \(last.rewardAccuracy!)")
        #expect(last.loss < first.loss)
        #expect(last.rewardMargin! > first.rewardMargin! && last.rewardMargin! > 0.5)
        #expect(last.rewardAccuracy! >= 0.9)

        // Measured afresh: every pair's chosen response gained on its rejected one relative to M_t.
        var scored = pairs
        ReferenceScorer.score(&scored, with: model)
        let reference = try LlamaModel<Float>(config: TinyShapes.training(), seed: 21)
        var original = pairs
        ReferenceScorer.score(&original, with: reference)
        for (after, before) in zip(scored, original) {
            let gain =
                (after.reference!.chosen - before.reference!.chosen)
                - (after.reference!.rejected - before.reference!.rejected)
            #expect(gain > 0)
        }
    }

    @Test("the best epoch on the dev metric is chosen and its weights restored; runs are reproducible")
    func bestEpoch() throws {
        let pairs = randomPairs(count: 8, vocab: 29, seed: 9)
        let devValues = [0.20, 0.30, 0.55, 0.40, 0.55]
        func train() throws -> (SCPORecord, LlamaModel<Float>, [[Float]]) {
            let model = try LlamaModel<Float>(config: TinyShapes.training(), seed: 22)
            var calls = 0
            var snapshots: [[Float]] = []
            let record = try SCPOTrainer(config: Self.config(epochs: 4)).run(
                policy: model, pairs: pairs,
                evaluate: { _ in
                    defer { calls += 1 }
                    return devValues[calls]
                },
                epochEnded: { epoch, policy in
                    snapshots.append(policy.masterModel.parameters.array)
                    return "epoch-\(epoch)"
                })
            return (record, model, snapshots)
        }
        let (record, model, snapshots) = try train()
        #expect(record.initialDevAccuracy == 0.20)
        #expect(record.epochs.map(\.devAccuracy) == [0.30, 0.55, 0.40, 0.55])
        #expect(record.bestEpoch == 2)  // the earliest of the tied best
        #expect(record.restoredBest)
        #expect(record.epochs.map(\.checkpoint) == ["epoch-1", "epoch-2", "epoch-3", "epoch-4"])
        #expect(model.parameters.array == snapshots[1])
        let (again, _, _) = try train()
        #expect(again.stepLosses == record.stepLosses)

        // The record is JSON.
        let json = try JSONEncoder().encode(record)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"best_epoch\":2") && text.contains("\"step_reward_margins\""))
    }

    @Test("with keep_start_unless_beaten, M_t stays when no epoch beats it on dev, and an epoch that does wins")
    func keepStart() throws {
        let pairs = randomPairs(count: 8, vocab: 29, seed: 9)
        func train(_ devValues: [Double]) throws -> (SCPORecord, changed: Bool) {
            let model = try LlamaModel<Float>(config: TinyShapes.training(), seed: 23)
            let start = model.parameters.array
            var calls = 0
            var config = Self.config(epochs: 3)
            config.keepStartUnlessBeaten = true
            let record = try SCPOTrainer(config: config).run(
                policy: model, pairs: pairs,
                evaluate: { _ in
                    defer { calls += 1 }
                    return devValues[calls]
                })
            return (record, model.parameters.array != start)
        }
        let (kept, changed) = try train([0.50, 0.40, 0.50, 0.45])
        #expect(kept.bestEpoch == 0 && kept.restoredBest)
        #expect(!changed, "M_t's own weights should come back")
        let (beaten, moved) = try train([0.50, 0.40, 0.52, 0.45])
        #expect(beaten.bestEpoch == 2 && moved)
    }

    @Test("a ternary (quantization-aware) policy learns the preference; the restored best epoch is re-quantized")
    func ternaryPolicy() throws {
        var config = TinyShapes.training()
        config.quantization = .b158
        let pairs = randomPairs(count: 8, vocab: 29, seed: 11, weights: [1, 0.5])
        let model = try LlamaModel<Float>(config: config, seed: 24)
        var calls = 0
        var snapshots: [[Float]] = []
        let record = try SCPOTrainer(config: Self.config(epochs: 4)).run(
            policy: model, pairs: pairs,
            evaluate: { policy in
                defer { calls += 1 }
                // A forward pass, as a dev evaluation makes: it leaves the ternary copy current.
                var scored = pairs
                ReferenceScorer.score(&scored, with: policy.masterModel)
                return [0.1, 0.2, 0.6, 0.3, 0.4][calls]
            },
            epochEnded: { _, policy in
                snapshots.append(policy.masterModel.parameters.array)
                return nil
            })
        #expect(record.bestEpoch == 2 && model.parameters.array == snapshots[1])
        let first = try #require(record.epochs.first?.train)
        #expect(record.epochs[1].train.rewardMargin! > first.rewardMargin!)

        // The restored model scores like a fresh ternary model holding epoch 2's latent weights:
        // its ternary copy was re-derived from them, not left over from the last epoch.
        let fresh = try LlamaModel<Float>(config: config, seed: 0)
        snapshots[1].withUnsafeBufferPointer { fresh.parameters.pointer.update(from: $0.baseAddress!, count: $0.count) }
        fresh.invalidateQuantizedWeights()
        var restored = pairs
        var expected = pairs
        ReferenceScorer.score(&restored, with: model)
        ReferenceScorer.score(&expected, with: fresh)
        #expect(restored.map(\.reference!.chosen) == expected.map(\.reference!.chosen))
        #expect(restored.map(\.reference!.rejected) == expected.map(\.reference!.rejected))
    }

    @Test("LMSI raises the chosen responses' likelihood; irpo-gold and unweighted run the same loop")
    func baselines() throws {
        let pairs = randomPairs(count: 6, vocab: 29, seed: 10, weights: [0.25])
        let model = try LlamaModel<Float>(config: TinyShapes.training(), seed: 23)
        let record = try SCPOTrainer(config: Self.config(mode: .lmsi, epochs: 4)).run(policy: model, pairs: pairs)
        #expect(record.referenceRejectedLogProb == nil && record.stepRewardMargins.isEmpty)
        let first = try #require(record.epochs.first?.train)
        let last = try #require(record.epochs.last?.train)
        #expect(last.chosenLogProbPerToken > first.chosenLogProbPerToken)
        #expect(abs(last.weight - 1) < 1e-12 || abs(last.weight - 0.25) < 1e-12)
        for mode in [SCPOMode.scpoUnweighted, .irpoGold] {
            let m = try LlamaModel<Float>(config: TinyShapes.training(), seed: 23)
            let r = try SCPOTrainer(config: Self.config(mode: mode, epochs: 1)).run(policy: m, pairs: pairs)
            #expect(r.stepLosses.allSatisfy { $0.isFinite })
        }
    }

    @Test("invalid settings and empty pair lists are refused with a message")
    func validation() throws {
        let model = try LlamaModel<Float>(config: TinyShapes.training(), seed: 24)
        var bad = SCPOConfig()
        bad.beta = 0
        #expect(throws: SCPOError.self) {
            try SCPOTrainer(config: bad).run(policy: model, pairs: randomPairs(count: 2, vocab: 29, seed: 1))
        }
        #expect(throws: SCPOError.self) { try SCPOTrainer(config: SCPOConfig()).run(policy: model, pairs: []) }
        var lmsi = SCPOConfig()
        lmsi.mode = .lmsi
        lmsi.alpha = 0
        #expect(throws: SCPOError.self) { try lmsi.validate() }
    }
}
