import Foundation

/// The four sequence log-probabilities, the length and the weight that one preference pair
/// contributes to the SCPO loss.
///
/// Every log-probability is a sum over the response's tokens only (the prompt is excluded):
/// log M(y|x) = Σ_t log M(y_t | x, y_<t), docs/papers.md §1 step 6.
public struct PairLogProbs: Sendable, Hashable, Codable {
    /// log πθ(y+|x): the policy's log-probability of the chosen response.
    public var policyChosen: Double
    /// log πθ(y−|x): the policy's log-probability of the rejected response (nil when the objective
    /// has no preference term, as in LMSI, and the rejected response was never run).
    public var policyRejected: Double?
    /// log π_ref(y+|x): the frozen reference model M_t's log-probability of the chosen response.
    public var referenceChosen: Double
    /// log π_ref(y−|x): the reference's log-probability of the rejected response.
    public var referenceRejected: Double
    /// |y+|: the number of scored (response) tokens of the chosen response.
    public var chosenTokens: Int
    /// The pair's weight w ∈ [0, 1] as the loss uses it (already 1 for the unweighted objectives).
    public var weight: Double

    /// A pair's log-probabilities.
    public init(
        policyChosen: Double, policyRejected: Double?, referenceChosen: Double, referenceRejected: Double,
        chosenTokens: Int, weight: Double
    ) {
        self.policyChosen = policyChosen
        self.policyRejected = policyRejected
        self.referenceChosen = referenceChosen
        self.referenceRejected = referenceRejected
        self.chosenTokens = chosenTokens
        self.weight = weight
    }
}

/// One pair's loss and its gradient with respect to the policy's two sequence log-probabilities.
public struct PairLossTerms: Sendable, Hashable {
    /// The preference term, −w·log σ(margin) (0 when the objective has none).
    public var preference: Double
    /// The NLL term, −α·w·log πθ(y+|x)/|y+|.
    public var nll: Double
    /// ∂L/∂log πθ(y+|x).
    public var dChosen: Double
    /// ∂L/∂log πθ(y−|x) (0 when the objective has no preference term).
    public var dRejected: Double
    /// The implicit reward of the chosen response, β·(log πθ(y+) − log π_ref(y+)).
    public var chosenReward: Double
    /// The implicit reward of the rejected response, β·(log πθ(y−) − log π_ref(y−)) (0 without a
    /// preference term).
    public var rejectedReward: Double

    /// The pair's whole loss.
    public var loss: Double { preference + nll }
    /// The reward margin, the argument of σ: chosen reward − rejected reward.
    public var margin: Double { chosenReward - rejectedReward }
}

/// Running sums over pairs, from which an epoch's or a batch's means are read (see ``means``).
///
/// Every field is a plain sum so that micro-batches, steps and epochs merge by addition.
public struct SCPOStatistics: Sendable, Hashable, Codable {
    /// Pairs summed.
    public var pairs = 0
    /// Σ of per-pair losses (preference + NLL).
    public var loss = 0.0
    /// Σ of the preference terms.
    public var preference = 0.0
    /// Σ of the NLL terms.
    public var nll = 0.0
    /// Σ of the reward margins (pairs with a preference term only).
    public var margin = 0.0
    /// Pairs whose reward margin is positive.
    public var positiveMargins = 0
    /// Pairs with a preference term (the denominators of margins, accuracy and rejected means).
    public var preferencePairs = 0
    /// Σ of the chosen rewards.
    public var chosenReward = 0.0
    /// Σ of the rejected rewards (pairs with a preference term).
    public var rejectedReward = 0.0
    /// Σ log πθ(y+).
    public var chosenLogProb = 0.0
    /// Σ log πθ(y−) (pairs with a preference term).
    public var rejectedLogProb = 0.0
    /// Σ of chosen log-probs divided by their lengths (per-token log-likelihood of y+).
    public var chosenLogProbPerToken = 0.0
    /// Σ of the weights.
    public var weight = 0.0

    /// Empty sums.
    public init() {}

    /// Adds one pair.
    public mutating func add(_ pair: PairLogProbs, _ terms: PairLossTerms) {
        pairs += 1
        loss += terms.loss
        preference += terms.preference
        nll += terms.nll
        chosenReward += terms.chosenReward
        chosenLogProb += pair.policyChosen
        chosenLogProbPerToken += pair.policyChosen / Double(max(pair.chosenTokens, 1))
        weight += pair.weight
        if let rejected = pair.policyRejected {
            preferencePairs += 1
            margin += terms.margin
            if terms.margin > 0 { positiveMargins += 1 }
            rejectedReward += terms.rejectedReward
            rejectedLogProb += rejected
        }
    }

    /// Adds another set of sums.
    public mutating func merge(_ other: SCPOStatistics) {
        pairs += other.pairs
        loss += other.loss
        preference += other.preference
        nll += other.nll
        margin += other.margin
        positiveMargins += other.positiveMargins
        preferencePairs += other.preferencePairs
        chosenReward += other.chosenReward
        rejectedReward += other.rejectedReward
        chosenLogProb += other.chosenLogProb
        rejectedLogProb += other.rejectedLogProb
        chosenLogProbPerToken += other.chosenLogProbPerToken
        weight += other.weight
    }

    /// The means of these sums.
    public var means: SCPOMeans {
        let n = Double(max(pairs, 1))
        let p = preferencePairs > 0 ? Double(preferencePairs) : nil
        return SCPOMeans(
            pairs: pairs, loss: loss / n, preferenceLoss: preference / n, nllLoss: nll / n,
            rewardMargin: p.map { margin / $0 }, rewardAccuracy: p.map { Double(positiveMargins) / $0 },
            chosenReward: chosenReward / n, rejectedReward: p.map { rejectedReward / $0 },
            chosenLogProb: chosenLogProb / n, rejectedLogProb: p.map { rejectedLogProb / $0 },
            chosenLogProbPerToken: chosenLogProbPerToken / n, weight: weight / n)
    }
}

/// Means over pairs: what the training record and progress lines show.
public struct SCPOMeans: Sendable, Hashable, Codable {
    /// Pairs averaged.
    public var pairs: Int
    /// Mean loss per pair (preference + NLL).
    public var loss: Double
    /// Mean preference term, −w·log σ(margin).
    public var preferenceLoss: Double
    /// Mean NLL term, −α·w·log πθ(y+)/|y+|.
    public var nllLoss: Double
    /// Mean reward margin β·[(log πθ(y+) − log π_ref(y+)) − (log πθ(y−) − log π_ref(y−))]
    /// (nil without a preference term).
    public var rewardMargin: Double?
    /// Fraction of pairs whose reward margin is positive (nil without a preference term).
    public var rewardAccuracy: Double?
    /// Mean chosen reward β·(log πθ(y+) − log π_ref(y+)).
    public var chosenReward: Double
    /// Mean rejected reward (nil without a preference term).
    public var rejectedReward: Double?
    /// Mean log πθ(y+).
    public var chosenLogProb: Double
    /// Mean log πθ(y−) (nil without a preference term).
    public var rejectedLogProb: Double?
    /// Mean per-token log-likelihood of y+, log πθ(y+)/|y+|.
    public var chosenLogProbPerToken: Double
    /// Mean weight w.
    public var weight: Double

    enum CodingKeys: String, CodingKey {
        case pairs, loss, preferenceLoss = "preference_loss", nllLoss = "nll_loss", rewardMargin = "reward_margin"
        case rewardAccuracy = "reward_accuracy", chosenReward = "chosen_reward", rejectedReward = "rejected_reward"
        case chosenLogProb = "chosen_logp", rejectedLogProb = "rejected_logp"
        case chosenLogProbPerToken = "chosen_logp_per_token", weight
    }
}

/// The SCPO loss of Prasad et al. 2024 (arXiv 2411.04109, docs/papers.md §1 step 6) and its baselines,
/// with its gradient with respect to the policy's sequence log-probabilities in closed form.
///
/// Per pair, with m = β·[(log πθ(y+) − log π_ref(y+)) − (log πθ(y−) − log π_ref(y−))]:
///
///     L_i = −w·log σ(m) − α·w·log πθ(y+)/|y+|
///
///     ∂L_i/∂log πθ(y+) = −w·β·σ(−m) − α·w/|y+|
///     ∂L_i/∂log πθ(y−) = +w·β·σ(−m)
///
/// (d/dm of −log σ(m) is −σ(−m).) The batch loss is the **mean over the pairs of the batch**,
/// L = (1/B)·Σ_i L_i with B the number of pairs — not Σ w: a batch of low-weight pairs moves the
/// model less, which is the point of the weight. ``batch(_:divisor:)`` takes B explicitly, so that
/// micro-batches of one optimiser step all divide by the step's whole batch size and accumulated
/// gradients equal the gradient of that mean.
///
/// Settings of the same loss give the baselines (``SCPOMode``): w = 1 is unweighted SCPO and
/// IRPO (on gold pairs); no preference term is LMSI (length-normalised NLL of y+); w = 1, α = 0 is
/// DPO (Rafailov et al. 2023, eq. 7).
public struct SCPOLoss: Sendable, Hashable, Codable {
    /// β, the inverse temperature of the implicit reward (paper: 0.5).
    public var beta: Double
    /// α, the coefficient of the length-normalised NLL term on y+ (paper: 1).
    public var alpha: Double
    /// Whether the loss has the preference (DPO-style) term; false for LMSI.
    public var preferenceTerm: Bool

    /// A loss; the defaults are the paper's β = 0.5, α = 1 with the preference term.
    public init(beta: Double = 0.5, alpha: Double = 1, preferenceTerm: Bool = true) {
        self.beta = beta
        self.alpha = alpha
        self.preferenceTerm = preferenceTerm
    }

    enum CodingKeys: String, CodingKey {
        case beta, alpha, preferenceTerm = "preference_term"
    }

    /// One pair's loss terms and gradient (not divided by any batch size).
    ///
    /// - Precondition: with a preference term, `pair.policyRejected` is set.
    public func terms(_ pair: PairLogProbs) -> PairLossTerms {
        let w = pair.weight
        let length = Double(max(pair.chosenTokens, 1))
        let chosenReward = beta * (pair.policyChosen - pair.referenceChosen)
        // SCPO eq. (docs/papers.md §1 step 6), second term: −α·w·log Mθ(y+|x)/|y+|.
        let nll = -alpha * w * pair.policyChosen / length
        var dChosen = -alpha * w / length
        guard preferenceTerm else {
            return PairLossTerms(
                preference: 0, nll: nll, dChosen: dChosen, dRejected: 0, chosenReward: chosenReward,
                rejectedReward: 0)
        }
        guard let policyRejected = pair.policyRejected else {
            preconditionFailure("the preference term needs the policy's log-probability of the rejected response")
        }
        let rejectedReward = beta * (policyRejected - pair.referenceRejected)
        let margin = chosenReward - rejectedReward
        // SCPO eq., first term: −w·log σ(β·[…y+…] − β·[…y−…]); its derivative in the margin is −w·σ(−m).
        let preference = -w * Self.logSigmoid(margin)
        let pull = w * beta * Self.sigmoid(-margin)
        dChosen -= pull
        return PairLossTerms(
            preference: preference, nll: nll, dChosen: dChosen, dRejected: pull, chosenReward: chosenReward,
            rejectedReward: rejectedReward)
    }

    /// The loss of a batch and its gradients, each pair's terms divided by `divisor` (default: the
    /// number of pairs, i.e. the mean over the batch), and the statistics (undivided sums).
    public func batch(_ pairs: [PairLogProbs], divisor: Int? = nil) -> SCPOBatchLoss {
        let scale = 1 / Double(max(divisor ?? pairs.count, 1))
        var result = SCPOBatchLoss(
            loss: 0, dChosen: [], dRejected: [], statistics: SCPOStatistics())
        result.dChosen.reserveCapacity(pairs.count)
        result.dRejected.reserveCapacity(pairs.count)
        for pair in pairs {
            let t = terms(pair)
            result.loss += t.loss * scale
            result.dChosen.append(t.dChosen * scale)
            result.dRejected.append(t.dRejected * scale)
            result.statistics.add(pair, t)
        }
        return result
    }

    /// log σ(x) without overflow or cancellation: min(x, 0) − log(1 + e^(−|x|)).
    public static func logSigmoid(_ x: Double) -> Double {
        min(x, 0) - Foundation.log1p(Foundation.exp(-abs(x)))
    }

    /// σ(x) = 1/(1 + e^(−x)), evaluated so that e^· never overflows.
    public static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }
}

/// The loss of a batch of pairs: its value, its gradients with respect to the policy's sequence
/// log-probabilities (already divided like the loss), and statistics.
public struct SCPOBatchLoss: Sendable, Hashable {
    /// Σ_i L_i / divisor.
    public var loss: Double
    /// ∂loss/∂log πθ(y+_i) for each pair.
    public var dChosen: [Double]
    /// ∂loss/∂log πθ(y−_i) for each pair (zeros without a preference term).
    public var dRejected: [Double]
    /// Sums over the batch's pairs (not divided).
    public var statistics: SCPOStatistics
}
