import Foundation
import QuorumModel
import QuorumTensor
import SCPO
import Testing

/// The SCPO loss through a model: the whole backward against finite differences (fp64), and the
/// value and gradients against an independent PyTorch computation.
@Suite("SCPO loss through the model")
struct ModelLossTests {
    /// The mean SCPO loss of `pairs` under `policy` (reference log-probs already in the pairs).
    static func meanLoss(_ policy: LlamaModel<Double>, _ pairs: [TokenizedPair], _ loss: SCPOLoss) -> Double {
        let withRejected = loss.preferenceTerm
        let pass = policy.forward(ReferenceScorer.batch(pairs, includeRejected: withRejected))
        let lp = pass.sequenceLogProbs
        let counts = pass.scoredCounts
        let n = pairs.count
        let inputs = pairs.enumerated().map { i, p in
            PairLogProbs(
                policyChosen: lp[i], policyRejected: withRejected ? lp[n + i] : nil,
                referenceChosen: p.reference!.chosen, referenceRejected: p.reference!.rejected,
                chosenTokens: counts[i], weight: p.weight)
        }
        return loss.batch(inputs).loss
    }

    @Test(
        "full SCPO gradient through a tiny model (two micro-batches accumulated) vs finite differences",
        arguments: [SCPOMode.scpo, .lmsi])
    func fullGradient(mode: SCPOMode) throws {
        let config = TinyShapes.gradientCheck()
        let reference = try LlamaModel<Double>(config: config, seed: 11)
        let policy = try LlamaModel<Double>(config: config, seed: 12)
        // Larger weights than the default init so every path carries signal, and policy ≠ reference.
        for i in 0..<policy.parameterCount {
            policy.parameters[i] *= 10
            reference.parameters[i] *= 10
        }
        var pairs = randomPairs(count: 4, vocab: config.vocabSize, seed: 3, weights: [0.75, 0.25, 1, 0.5])
        ReferenceScorer.score(&pairs, with: reference, includeRejected: mode.needsRejected)
        let loss = mode.loss(beta: 0.5, alpha: 1)

        policy.zeroGradients()
        _ = SCPOTrainer.accumulateGradients(of: Array(pairs[0..<3]), divisor: 4, policy: policy, loss: loss)
        _ = SCPOTrainer.accumulateGradients(of: Array(pairs[3..<4]), divisor: 4, policy: policy, loss: loss)
        let analytic = policy.gradients.array

        let p = policy.parameters.pointer
        var numeric = [Double](repeating: 0, count: policy.parameterCount)
        let eps = 1e-6
        for i in 0..<policy.parameterCount {
            let saved = p[i]
            p[i] = saved + eps
            let plus = Self.meanLoss(policy, pairs, loss)
            p[i] = saved - eps
            let minus = Self.meanLoss(policy, pairs, loss)
            p[i] = saved
            numeric[i] = (plus - minus) / (2 * eps)
        }
        let err = relativeError(analytic, numeric)
        report("full-model FD relative error (\(mode.rawValue), \(policy.parameterCount) parameters)", err)
        #expect(err < 1e-6)
    }

    /// The committed fixture of `ops/fixtures/make_scpo_fixture.py`.
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/scpo-tiny")

    @Test("loss, log-probs and every parameter gradient match PyTorch (float64 autograd)")
    func pytorchFixture() throws {
        let policy = try LlamaModel<Double>.load(directory: Self.fixture.appendingPathComponent("policy").path)
        let reference = try LlamaModel<Double>.load(directory: Self.fixture.appendingPathComponent("reference").path)
        let ref = try LlamaModel<Double>.readTensors(path: Self.fixture.appendingPathComponent("scpo.safetensors").path)
        func values(_ name: String) throws -> [Double] { try #require(ref[name]).storage }
        func ints(_ name: String) throws -> [Int] { try values(name).map { Int($0) } }
        let weights = try values("weights")
        var pairs = try weights.indices.map { i in
            TokenizedPair(
                problemID: "fixture-\(i)", prompt: try ints("prompt_\(i)"), chosen: try ints("chosen_\(i)"),
                rejected: try ints("rejected_\(i)"), weight: weights[i])
        }
        let beta = try values("beta")[0]
        let alpha = try values("alpha")[0]
        ReferenceScorer.score(&pairs, with: reference)

        // Reference log-probs (the frozen model's, scored once).
        let refChosen = pairs.map { $0.reference!.chosen }
        let refRejected = pairs.map { $0.reference!.rejected }
        let refError = max(
            relativeError(refChosen, try values("reference_chosen_logps")),
            relativeError(refRejected, try values("reference_rejected_logps")))

        // The loss and its gradient through the trainer's own step function.
        policy.zeroGradients()
        let result = SCPOTrainer.accumulateGradients(
            of: pairs, divisor: pairs.count, policy: policy, loss: SCPOLoss(beta: beta, alpha: alpha))
        let torchLoss = try values("loss")[0]
        let lossError = abs(result.loss - torchLoss) / abs(torchLoss)
        var worstGradient = 0.0
        for entry in policy.layout.entries {
            let ours = Array(policy.gradients.array[entry.offset..<entry.offset + entry.count])
            let theirs = try values("grad." + entry.name)
            worstGradient = max(worstGradient, relativeError(ours, theirs))
        }
        report("PyTorch fixture: loss \(result.loss) vs \(torchLoss), relative difference", lossError)
        report("PyTorch fixture: reference log-probs, max relative difference", refError)
        report("PyTorch fixture: parameter gradients, worst per-tensor relative difference", worstGradient)
        #expect(lossError < 1e-12)
        #expect(refError < 1e-12)
        #expect(worstGradient < 1e-10)

        // The same fixture through the DPO (w = 1, α = 0) and LMSI settings.
        let unit = pairs.map {
            var p = $0; p.weight = 1; return p
        }
        let dpo = Self.meanLoss(policy, unit, SCPOLoss(beta: beta, alpha: 0))
        let lmsi = Self.meanLoss(policy, unit, SCPOMode.lmsi.loss(beta: beta, alpha: 1))
        #expect(abs(dpo - (try values("loss_dpo")[0])) < 1e-10)
        #expect(abs(lmsi - (try values("loss_lmsi")[0])) < 1e-10)
    }

    @Test("the float32 engine agrees with the PyTorch loss to float precision")
    func pytorchFixtureFloat() throws {
        let policy = try LlamaModel<Float>.load(directory: Self.fixture.appendingPathComponent("policy").path)
        let reference = try LlamaModel<Float>.load(directory: Self.fixture.appendingPathComponent("reference").path)
        let ref = try LlamaModel<Double>.readTensors(path: Self.fixture.appendingPathComponent("scpo.safetensors").path)
        func ints(_ name: String) throws -> [Int] { try #require(ref[name]).storage.map { Int($0) } }
        let weights = try #require(ref["weights"]).storage
        var pairs = try weights.indices.map { i in
            TokenizedPair(
                problemID: "fixture-\(i)", prompt: try ints("prompt_\(i)"), chosen: try ints("chosen_\(i)"),
                rejected: try ints("rejected_\(i)"), weight: weights[i])
        }
        ReferenceScorer.score(&pairs, with: reference)
        policy.zeroGradients()
        let result = SCPOTrainer.accumulateGradients(of: pairs, divisor: pairs.count, policy: policy, loss: SCPOLoss())
        let torchLoss = try #require(ref["loss"]).storage[0]
        let diff = abs(result.loss - torchLoss) / abs(torchLoss)
        report("PyTorch fixture, float32 engine: loss relative difference", diff)
        #expect(diff < 1e-5)
    }
}
