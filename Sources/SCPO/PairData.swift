public import QuorumModel
public import QuorumTensor
public import QuorumTokenizer
public import QuorumTraining
public import QuorumVoting

/// What the SCPO trainer needs from the model it trains — the seam between the loss and the
/// weights' representation.
///
/// A plain fp32 (or, in tests, fp64) ``LlamaModel`` conforms as it is: its forward and backward are
/// the training forward and backward, and it holds its own master weights. A quantization-aware
/// (ternary, BitNet-style) policy conforms by keeping fp32 master weights in ``masterModel`` and
/// running ``forward(_:)`` through quantized weights, with ``backward(_:sequenceGradients:)`` passing
/// gradients straight through the quantizers into `masterModel.gradients` (straight-through
/// estimator). The optimiser, clipping and checkpoints only ever touch ``masterModel``.
///
/// - Important: not thread-safe, and every call blocks while using all cores (see ``LlamaModel``).
public protocol SCPOPolicy: AnyObject {
    /// The element type of the weights.
    associatedtype Scalar: TensorScalar
    /// The master weights and their gradient buffer, which AdamW updates.
    var masterModel: LlamaModel<Scalar> { get }
    /// A training forward pass: sequence log-probs over the scored tokens, activations kept.
    func forward(_ batch: TokenBatch) -> ForwardPass<Scalar>
    /// Accumulates into `masterModel.gradients` the gradient of Σ_b g_b·log M(y_b|x_b).
    func backward(_ pass: ForwardPass<Scalar>, sequenceGradients: [Scalar])
}

extension LlamaModel: SCPOPolicy {
    /// The model itself: a plain model is its own master copy.
    public var masterModel: LlamaModel<T> { self }
}

/// The reference model's log-probabilities of one pair, log M_t(y+|x) and log M_t(y−|x).
public struct ReferenceLogProbs: Sendable, Hashable, Codable {
    /// log π_ref(y+|x).
    public var chosen: Double
    /// log π_ref(y−|x) (0 when the rejected response is not used, as in LMSI).
    public var rejected: Double

    /// Reference log-probabilities.
    public init(chosen: Double, rejected: Double) {
        self.chosen = chosen
        self.rejected = rejected
    }
}

/// A preference pair as token ids, with the weight its training mode gives it and, once scored,
/// the frozen reference's log-probabilities.
public struct TokenizedPair: Sendable, Hashable {
    /// The problem's id (for records and debugging).
    public var problemID: String
    /// Prompt tokens x (BOS, question, answer prefix): inputs, never scored.
    public var prompt: [Int]
    /// Tokens of the chosen response y+ (scored).
    public var chosen: [Int]
    /// Tokens of the rejected response y− (scored).
    public var rejected: [Int]
    /// The weight the loss uses (``SCPOMode/weight(of:)``).
    public var weight: Double
    /// log M_t of both responses, set by ``ReferenceScorer/score(_:with:includeRejected:pairsPerBatch:)``.
    public var reference: ReferenceLogProbs?

    /// A pair from token ids.
    public init(
        problemID: String, prompt: [Int], chosen: [Int], rejected: [Int], weight: Double,
        reference: ReferenceLogProbs? = nil
    ) {
        self.problemID = problemID
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.weight = weight
        self.reference = reference
    }
}

/// How many pairs a run was given and why some were not used.
public struct PairCounts: Sendable, Hashable, Codable {
    /// Pairs read.
    public var read = 0
    /// Pairs trained on.
    public var used = 0
    /// Pairs the mode does not train on (`irpo-gold`: non-gold pairs; `scpo`: weight 0).
    public var droppedByMode = 0
    /// Pairs whose prompt + response is longer than the model's context.
    public var droppedTooLong = 0
    /// Used pairs whose source is the vote.
    public var selfConsistency = 0
    /// Used pairs whose source is a gold label.
    public var gold = 0
    /// Mean weight of the used pairs as read (before the mode's override).
    public var meanPairWeight: Double?
    /// Mean weight of the used pairs as the loss sees it.
    public var meanLossWeight: Double?

    /// No pairs yet.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case read, used, droppedByMode = "dropped_by_mode", droppedTooLong = "dropped_too_long"
        case selfConsistency = "self_consistency", gold, meanPairWeight = "mean_pair_weight"
        case meanLossWeight = "mean_loss_weight"
    }
}

/// Turning ``PreferencePair``s (text) into ``TokenizedPair``s in the shared ``PromptFormat``.
public enum PairEncoding {
    /// The prompt's token ids: BOS, then the prompt text.
    ///
    /// A pair's `prompt` is normally the problem's question (what `quorum vote` copies from the
    /// samples), which ``PromptFormat/promptTokens(question:tokenizer:)`` wraps. A prompt that is
    /// already the formatted prompt text (starts with the question prefix and ends with the answer
    /// prefix) is used as it is, so either convention of the sampler gives the same tokens.
    public static func promptTokens(_ prompt: String, format: PromptFormat, tokenizer: BPETokenizer) -> [Int] {
        if prompt.hasPrefix(format.questionPrefix) && prompt.hasSuffix(format.answerPrefix)
            && prompt.count >= format.questionPrefix.count + format.answerPrefix.count
        {
            var tokens: [Int] = tokenizer.bosID.map { [Int($0)] } ?? []
            tokens += tokenizer.encode(prompt, parseSpecialTokens: false).map(Int.init)
            return tokens
        }
        return format.promptTokens(question: prompt, tokenizer: tokenizer)
    }

    /// The pairs `mode` trains on, tokenized: a response is its text re-encoded, then EOS (as in
    /// SFT, so log M(y|x) includes stopping). Pairs longer than `maxPositions` tokens are dropped.
    ///
    /// Re-encoding is canonical BPE, so a sampled response's tokens may differ from the ones the
    /// sampler drew when the sampler produced a non-canonical split; the text is the same.
    public static func encode(
        _ pairs: [PreferencePair], mode: SCPOMode, tokenizer: BPETokenizer, format: PromptFormat, maxPositions: Int
    ) -> (pairs: [TokenizedPair], counts: PairCounts) {
        var counts = PairCounts()
        counts.read = pairs.count
        var out: [TokenizedPair] = []
        var pairWeights = 0.0
        var lossWeights = 0.0
        for pair in pairs {
            guard mode.uses(pair) else {
                counts.droppedByMode += 1
                continue
            }
            let prompt = promptTokens(pair.prompt, format: format, tokenizer: tokenizer)
            let chosen = format.responseTokens(solution: pair.chosen, tokenizer: tokenizer)
            let rejected = format.responseTokens(solution: pair.rejected, tokenizer: tokenizer)
            let longest = prompt.count + max(chosen.count, mode.needsRejected ? rejected.count : 0)
            guard longest <= maxPositions else {
                counts.droppedTooLong += 1
                continue
            }
            let weight = mode.weight(of: pair)
            out.append(
                TokenizedPair(
                    problemID: pair.problemID, prompt: prompt, chosen: chosen, rejected: rejected, weight: weight))
            counts.used += 1
            if pair.source == .gold { counts.gold += 1 } else { counts.selfConsistency += 1 }
            pairWeights += pair.weight
            lossWeights += weight
        }
        if counts.used > 0 {
            counts.meanPairWeight = pairWeights / Double(counts.used)
            counts.meanLossWeight = lossWeights / Double(counts.used)
        }
        return (out, counts)
    }
}

/// Scores pairs with the frozen reference model M_t, once per round (docs/papers.md §1 step 6: M_t never
/// changes during the round, so log M_t(y|x) is computed once and stored with the pair).
public enum ReferenceScorer {
    /// The model batch of `pairs`: the chosen sequences, then (when `includeRejected`) the rejected
    /// ones, each scored on its response tokens only.
    public static func batch(_ pairs: some Collection<TokenizedPair>, includeRejected: Bool) -> TokenBatch {
        var prompts = pairs.map(\.prompt)
        var responses = pairs.map(\.chosen)
        if includeRejected {
            prompts += pairs.map(\.prompt)
            responses += pairs.map(\.rejected)
        }
        return TokenBatch(prompts: prompts, responses: responses)
    }

    /// `pairs` with their ``TokenizedPair/reference`` log-probs from `reference` (see
    /// ``score(_:with:includeRejected:pairsPerBatch:)``).
    public static func scored<Policy: SCPOPolicy>(
        _ pairs: [TokenizedPair], with reference: Policy, includeRejected: Bool = true, pairsPerBatch: Int = 16
    ) -> [TokenizedPair] {
        var copy = pairs
        score(&copy, with: reference, includeRejected: includeRejected, pairsPerBatch: pairsPerBatch)
        return copy
    }

    /// Sets every pair's ``TokenizedPair/reference`` from `reference`'s forward passes, `pairsPerBatch`
    /// pairs at a time. `reference` is not changed (its gradients are not touched).
    ///
    /// - Important: blocks and uses every core; call it from a dedicated thread.
    public static func score<Policy: SCPOPolicy>(
        _ pairs: inout [TokenizedPair], with reference: Policy, includeRejected: Bool = true, pairsPerBatch: Int = 16
    ) {
        let step = max(1, pairsPerBatch)
        for first in stride(from: 0, to: pairs.count, by: step) {
            let range = first..<min(pairs.count, first + step)
            let pass = reference.forward(batch(pairs[range], includeRejected: includeRejected))
            let logProbs = pass.sequenceLogProbs.map(Double.init)
            let n = range.count
            for (i, index) in range.enumerated() {
                pairs[index].reference = ReferenceLogProbs(
                    chosen: logProbs[i], rejected: includeRejected ? logProbs[n + i] : 0)
            }
        }
    }
}
