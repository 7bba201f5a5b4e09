import Foundation
import QuorumTensor
import QuorumVoting
import SCPO
import Testing

/// The loss on its own: values, closed-form gradients, baselines as settings.
@Suite("SCPO loss: closed form, stability, baselines")
struct LossTests {
    /// A spread of pairs: margins of both signs, a large one, different lengths and weights.
    static let pairs: [PairLogProbs] = [
        PairLogProbs(
            policyChosen: -12.5, policyRejected: -10.25, referenceChosen: -11.0, referenceRejected: -10.5,
            chosenTokens: 9, weight: 0.75),
        PairLogProbs(
            policyChosen: -3.2, policyRejected: -20.0, referenceChosen: -4.0, referenceRejected: -9.0,
            chosenTokens: 3, weight: 0.25),
        PairLogProbs(
            policyChosen: -30.0, policyRejected: -31.5, referenceChosen: -29.0, referenceRejected: -33.0,
            chosenTokens: 17, weight: 1),
        PairLogProbs(
            policyChosen: -7.0, policyRejected: -7.0, referenceChosen: -7.0, referenceRejected: -7.0,
            chosenTokens: 5, weight: 0.5),
    ]

    /// The batch loss as a function of the policy's log-probs [c0, r0, c1, r1, …].
    static func lossOf(_ x: [Double], loss: SCPOLoss, template: [PairLogProbs]) -> Double {
        var inputs = template
        for i in inputs.indices {
            inputs[i].policyChosen = x[2 * i]
            inputs[i].policyRejected = x[2 * i + 1]
        }
        return loss.batch(inputs).loss
    }

    @Test(
        "closed-form gradient w.r.t. the sequence log-probs matches finite differences",
        arguments: [(0.5, 1.0), (0.1, 0.0), (2.0, 0.3)])
    func closedFormGradient(beta: Double, alpha: Double) {
        let loss = SCPOLoss(beta: beta, alpha: alpha)
        let x = Self.pairs.flatMap { [$0.policyChosen, $0.policyRejected!] }
        let result = loss.batch(Self.pairs)
        let analytic = zip(result.dChosen, result.dRejected).flatMap { [$0, $1] }
        let numeric = numericGradient(x, eps: 1e-5) { Self.lossOf($0, loss: loss, template: Self.pairs) }
        let err = relativeError(analytic, numeric)
        report("closed-form dL/dlogp vs FD (beta \(beta), alpha \(alpha)) relative error", err)
        #expect(err < 1e-8)
    }

    @Test("log σ and σ stay finite and accurate for huge arguments")
    func stableLogSigmoid() {
        #expect(SCPOLoss.logSigmoid(1000) == 0)
        #expect(SCPOLoss.logSigmoid(-1000) == -1000)
        #expect(abs(SCPOLoss.logSigmoid(40) + Foundation.exp(-40)) < 1e-30)
        #expect(abs(SCPOLoss.logSigmoid(0) + Foundation.log(2)) < 1e-15)
        #expect(SCPOLoss.sigmoid(-1000) == 0)
        #expect(SCPOLoss.sigmoid(1000) == 1)
        for x in stride(from: -20.0, through: 20, by: 0.5) {
            let naive = Foundation.log(1 / (1 + Foundation.exp(-x)))
            #expect(abs(SCPOLoss.logSigmoid(x) - naive) < 1e-12)
        }
        // A margin of ±2000 (β·Δ): finite loss and gradient.
        let pair = PairLogProbs(
            policyChosen: -1, policyRejected: -4001, referenceChosen: -1, referenceRejected: -1, chosenTokens: 1,
            weight: 1)
        let flipped = PairLogProbs(
            policyChosen: -4001, policyRejected: -1, referenceChosen: -1, referenceRejected: -1, chosenTokens: 1,
            weight: 1)
        for p in [pair, flipped] {
            let t = SCPOLoss().terms(p)
            #expect(t.loss.isFinite && t.dChosen.isFinite && t.dRejected.isFinite)
        }
        #expect(abs(SCPOLoss(alpha: 0).terms(flipped).preference - 2000) < 1e-9)
    }

    @Test("w = 1 and α = 0 is exactly DPO (Rafailov et al. 2023, eq. 7)")
    func dpo() {
        let beta = 0.5
        let unit = Self.pairs.map {
            var p = $0; p.weight = 1; return p
        }
        let ours = SCPOLoss(beta: beta, alpha: 0).batch(unit)
        var direct = 0.0
        for p in unit {
            let h = beta * ((p.policyChosen - p.referenceChosen) - (p.policyRejected! - p.referenceRejected))
            direct += -Foundation.log(1 / (1 + Foundation.exp(-h)))
        }
        direct /= Double(unit.count)
        #expect(abs(ours.loss - direct) < 1e-14)
        // Its gradient is DPO's: −β·σ(−h) on y+, +β·σ(−h) on y−, divided by the batch size.
        for (i, p) in unit.enumerated() {
            let h = beta * ((p.policyChosen - p.referenceChosen) - (p.policyRejected! - p.referenceRejected))
            let s = 1 / (1 + Foundation.exp(h))
            #expect(abs(ours.dChosen[i] + beta * s / 4) < 1e-15)
            #expect(abs(ours.dRejected[i] - beta * s / 4) < 1e-15)
        }
        // The irpo-gold and scpo-unweighted modes with α = 0 give the same loss.
        for mode in [SCPOMode.irpoGold, .scpoUnweighted] {
            #expect(abs(mode.loss(beta: beta, alpha: 0).batch(unit).loss - direct) < 1e-14)
        }
    }

    @Test("w = 0 gives zero loss and zero gradient")
    func zeroWeight() {
        let zero = Self.pairs.map {
            var p = $0; p.weight = 0; return p
        }
        for loss in [SCPOLoss(), SCPOLoss(beta: 3, alpha: 2), SCPOLoss(preferenceTerm: false)] {
            let result = loss.batch(zero)
            #expect(result.loss == 0)
            #expect(result.dChosen.allSatisfy { $0 == 0 })
            #expect(result.dRejected.allSatisfy { $0 == 0 })
        }
    }

    @Test("LMSI is the length-normalised NLL of the chosen response")
    func lmsi() {
        let loss = SCPOMode.lmsi.loss(beta: 0.5, alpha: 1)
        // LMSI never runs the rejected response.
        let chosenOnly = Self.pairs.map {
            var p = $0; p.policyRejected = nil; p.weight = 1; return p
        }
        let result = loss.batch(chosenOnly)
        let nll = chosenOnly.reduce(0.0) { $0 - $1.policyChosen / Double($1.chosenTokens) } / 4
        #expect(abs(result.loss - nll) < 1e-14)
        for (i, p) in chosenOnly.enumerated() {
            #expect(abs(result.dChosen[i] + 1 / (4 * Double(p.chosenTokens))) < 1e-15)
            #expect(result.dRejected[i] == 0)
        }
        #expect(result.statistics.means.rewardMargin == nil)
        #expect(result.statistics.means.rejectedLogProb == nil)
    }

    @Test("the paper's formula term by term, and the averaging is a mean over pairs")
    func paperFormula() {
        let (beta, alpha) = (0.5, 1.0)
        let result = SCPOLoss(beta: beta, alpha: alpha).batch(Self.pairs)
        var sum = 0.0
        for p in Self.pairs {
            let h = beta * (p.policyChosen - p.referenceChosen) - beta * (p.policyRejected! - p.referenceRejected)
            sum += -p.weight * Foundation.log(1 / (1 + Foundation.exp(-h)))
            sum += -alpha * p.weight * p.policyChosen / Double(p.chosenTokens)
        }
        #expect(abs(result.loss - sum / Double(Self.pairs.count)) < 1e-13)
        // A divisor of 8 (two micro-batches of 4) halves loss and gradients.
        let half = SCPOLoss(beta: beta, alpha: alpha).batch(Self.pairs, divisor: 8)
        #expect(abs(half.loss - result.loss / 2) < 1e-14)
        #expect(zip(half.dChosen, result.dChosen).allSatisfy { abs($0 - $1 / 2) < 1e-15 })
    }

    @Test("statistics: reward margins, accuracy, chosen and rejected means")
    func statistics() {
        let means = SCPOLoss(beta: 0.5, alpha: 1).batch(Self.pairs).statistics.means
        // Margins: 0.5·[(−1.5) − (0.25)] = −0.875; 0.5·[0.8 − (−11)] = 5.9; 0.5·[−1 − 1.5] = −1.25; 0.
        #expect(abs(means.rewardMargin! - (-0.875 + 5.9 - 1.25 + 0) / 4) < 1e-12)
        #expect(means.rewardAccuracy == 0.25)
        #expect(abs(means.chosenLogProb - (-12.5 - 3.2 - 30 - 7) / 4) < 1e-12)
        #expect(abs(means.rejectedLogProb! - (-10.25 - 20 - 31.5 - 7) / 4) < 1e-12)
        #expect(abs(means.weight - 0.625) < 1e-15)
    }

    @Test("modes: which pairs each trains on and with which weight")
    func modes() {
        func pair(_ weight: Double, _ source: PreferencePair.Source) -> PreferencePair {
            PreferencePair(
                problemID: "x", round: 1, prompt: "q", chosen: "a", rejected: "b", chosenAnswer: "1",
                rejectedAnswer: "2", weight: weight, chosenVotes: 5, rejectedVotes: 1, k: 8, source: source)
        }
        let vote = pair(0.5, .selfConsistency)
        let tie = pair(0, .selfConsistency)
        let gold = pair(1, .gold)
        #expect(SCPOMode.scpo.uses(vote) && !SCPOMode.scpo.uses(tie) && SCPOMode.scpo.uses(gold))
        #expect(SCPOMode.scpo.weight(of: vote) == 0.5)
        #expect(!SCPOMode.irpoGold.uses(vote) && SCPOMode.irpoGold.uses(gold))
        #expect(SCPOMode.scpoUnweighted.weight(of: vote) == 1 && SCPOMode.lmsi.weight(of: vote) == 1)
        #expect(!SCPOMode.lmsi.loss(beta: 0.5, alpha: 1).preferenceTerm && !SCPOMode.lmsi.needsRejected)
        #expect(SCPOMode(rawValue: "scpo-unweighted") == .scpoUnweighted)
    }
}
