import Foundation
public import QuorumModel
public import QuorumTasks
import QuorumTokenizer

/// Everything that defines a supervised (SFT) run of the seed model: the problems, the tokenizer,
/// the model's shape, the optimisation and the periodic dev evaluation.
///
/// Read from and written to JSON with snake_case keys (`train_count`, `kv_heads`, …); every key is
/// optional in a file (absent keys keep the defaults below) and unknown keys are rejected, so a typo
/// cannot silently fall back to a default. `pipelines/seed-model-small.json` is the seed model the
/// project settled on (in SCPO's regime; see docs/seed-model.md).
public struct SFTConfig: Sendable, Hashable, Codable {
    // Data.
    /// Seed of the problem generator (train and dev problems).
    public var dataSeed: UInt64 = 1
    /// Labeled training problems (split `train`).
    public var trainCount: Int = 20_000
    /// Fewest reasoning steps per problem (1–4).
    public var minSteps: Int = 1
    /// Most reasoning steps per problem (1–4).
    public var maxSteps: Int = 4
    /// Largest basic number of the generator (see ``GeneratorConfig/maxNumber``).
    public var maxNumber: Int = 50
    /// Largest result of the generator; nil: ten times `maxNumber` (see ``GeneratorConfig/maxResult``).
    public var maxResult: Int?
    /// Operations the problems may use (`"+-*"`: no division); nil: all four (see
    /// ``GeneratorConfig/operations``).
    public var operations: String?

    /// Probability that each `a + b =` or `a * b =` in a training solution is written `b + a =` /
    /// `b * a =` instead (fixed per problem from `seed`): several equally valid reasoning paths per
    /// problem, the diversity self-consistency votes over. 0 keeps the generator's solutions.
    public var swapOperands: Double = 0
    /// Distinct valid solutions generated per training problem (operands swapped, two-digit
    /// operands split into tens and units, computation before the sentence; see
    /// ``VariedProblem``); each time a problem is drawn for a batch, one of them is picked at random
    /// (from `seed`). 1 keeps the generator's one solution.
    public var solutionVariants: Int = 1
    /// How the variants write a step (`mixed` or `decomposed`; see ``VariantStyle``).
    public var variantStyle: String = VariantStyle.mixed.rawValue
    /// Whether the variants also take a running total's neighbouring gains and losses in random
    /// valid orders (other intermediate totals, so other facts; the answer is the same).
    public var reorderSteps = false
    /// Whether the variants may also take a sum from an amount part by part (`200 - 16 = 184`,
    /// `184 - 27 = 157` for `16 + 27 = 43`, `200 - 43 = 157`): other facts, the same answer.
    public var subtractParts = false
    /// Whether the variants may also multiply out a sum that is then multiplied (`6 * 2 = 12`,
    /// `4 * 2 = 8`, `12 + 8 = 20` for `6 + 4 = 10`, `10 * 2 = 20`).
    public var distributeProducts = false

    /// The plans other than the generator's own that the variants may follow.
    public var planVariations: PlanVariations {
        var plans: PlanVariations = []
        if reorderSteps { plans.insert(.reorderedTotals) }
        if subtractParts { plans.insert(.partwiseSubtraction) }
        if distributeProducts { plans.insert(.distributedProducts) }
        return plans
    }

    // Tokenizer.
    /// Vocabulary size of the byte-level BPE tokenizer trained on the training problems.
    public var vocabSize: Int = 1024
    /// Pre-tokenizer pattern: `llama3SingleDigits` (every digit its own token), `llama3` or `gpt2`.
    public var pretokenizer: String = PreTokenizer.Pattern.llama3SingleDigits.rawValue
    /// Training problems the tokenizer learns its merges from (the first ones; 0 = all).
    public var tokenizerProblems: Int = 5_000

    // Model.
    /// Transformer layers.
    public var layers: Int = 4
    /// Width of the residual stream.
    public var hidden: Int = 256
    /// Query heads.
    public var heads: Int = 4
    /// Key/value heads (grouped-query attention; divides `heads`).
    public var kvHeads: Int = 4
    /// Width of the feed-forward block.
    public var intermediate: Int = 768
    /// Longest sequence (prompt + response) the model handles.
    public var maxPositions: Int = 512
    /// FFN activation: `silu` (SwiGLU) or `relu2` (ReLU²GLU).
    public var hiddenAct: String = FeedForwardKind.swiGLU.rawValue
    /// Rotary base θ.
    public var ropeTheta: Double = 10_000

    // Optimisation.
    /// Seed of the weight initialisation and of the data order.
    public var seed: UInt64 = 1
    /// Optimiser steps.
    public var steps: Int = 2_000
    /// Sequences per micro-batch.
    public var batch: Int = 16
    /// Micro-batches accumulated per optimiser step (effective batch = `batch · gradAccum`).
    public var gradAccum: Int = 1
    /// Peak learning rate (reached after warm-up).
    public var lr: Double = 1e-3
    /// Learning rate at the end of the cosine decay.
    public var minLR: Double = 1e-4
    /// Linear warm-up steps.
    public var warmup: Int = 100
    /// AdamW decoupled weight decay λ.
    public var weightDecay: Double = 0.1
    /// AdamW β₂.
    public var beta2: Double = 0.95
    /// Global gradient-norm clipping threshold (0 disables clipping).
    public var clip: Double = 1.0

    // Periodic evaluation on the dev split.
    /// Evaluate every this many steps (0: only at the end).
    public var evalEvery: Int = 500
    /// Dev problems evaluated (greedy accuracy and loss) each time; 0 disables dev evaluation.
    public var devCount: Int = 100
    /// Most tokens generated per answer in evaluation.
    public var maxNewTokens: Int = 160
    /// Samples per dev problem (temperature 0.7, top-p 0.9) for a majority-of-k accuracy at each
    /// dev evaluation; 0 evaluates greedy decoding only.
    public var devK: Int = 0
    /// Which weights the run keeps: `last` (the final step's) or `margin` (those of the dev
    /// evaluation with the largest majority-of-k minus greedy accuracy, among evaluations whose
    /// greedy accuracy is at least ``selectMinGreedy``; ties go to the later one; needs `dev_k` > 0).
    public var select: String = "last"
    /// The least dev greedy accuracy an evaluation needs to be chosen by `select: margin`.
    public var selectMinGreedy: Double = 0

    // Quantization-aware training (BitNet, docs/papers.md §2).
    /// `""` or `"none"` (floating point), `"b1.58"` (ternary weights, INT8 activations, the whole run) or `"a4.8"`
    /// (the paper's two stages: b1.58 for ``quantStage1Fraction`` of the steps, then the a4.8 scheme
    /// continuing with the same AdamW state; needs `hidden_act` `relu2`).
    public var quant: String = ""
    /// With `quant` `a4.8`: the fraction of the steps trained in stage 1 (b1.58, 8-bit activations).
    public var quantStage1Fraction: Double = 0.8

    /// The defaults above.
    public init() {}

    /// The generator settings these knobs describe.
    public var generator: GeneratorConfig {
        GeneratorConfig(
            minSteps: minSteps, maxSteps: maxSteps, maxNumber: maxNumber, maxResult: maxResult, operations: operations)
    }

    /// Checks every field, saying which to change.
    ///
    /// - Throws: ``TrainingError`` naming the field.
    public func validate() throws(TrainingError) {
        func require(_ ok: Bool, _ message: String) throws(TrainingError) {
            if !ok { throw TrainingError(message) }
        }
        try require(trainCount >= 1, "train_count must be at least 1 (got \(trainCount))")
        do { try generator.validate() } catch let error as TaskError {
            throw TrainingError(error.message)
        } catch { throw TrainingError("\(error)") }
        try require(vocabSize >= 300, "vocab_size must be at least 300 (256 bytes + special tokens + merges)")
        try require(
            PreTokenizer.Pattern(rawValue: pretokenizer) != nil,
            "unknown pretokenizer \"\(pretokenizer)\": use "
                + PreTokenizer.Pattern.allCases.map(\.rawValue).joined(separator: ", "))
        try require(swapOperands >= 0 && swapOperands <= 1, "swap_operands must be a probability in [0, 1]")
        try require(tokenizerProblems >= 0, "tokenizer_problems must be 0 (all) or more")
        try require(
            FeedForwardKind(rawValue: hiddenAct) != nil, "unknown hidden_act \"\(hiddenAct)\": use silu or relu2")
        try require(layers >= 1 && hidden >= 1 && intermediate >= 1, "layers, hidden and intermediate must be positive")
        try require(heads >= 1 && kvHeads >= 1 && heads % kvHeads == 0, "heads must be a positive multiple of kv_heads")
        try require(
            hidden % heads == 0 && (hidden / heads) % 2 == 0,
            "hidden (\(hidden)) must be divisible by heads (\(heads)) into an even head width")
        try require(maxPositions >= 16, "max_positions must be at least 16")
        try require(steps >= 1, "steps must be at least 1")
        try require(batch >= 1 && gradAccum >= 1, "batch and grad_accum must be at least 1")
        try require(lr > 0 && minLR >= 0 && minLR <= lr, "need 0 ≤ min_lr ≤ lr and lr > 0")
        try require(warmup >= 0 && warmup <= steps, "warmup must be between 0 and steps")
        try require(weightDecay >= 0 && clip >= 0, "weight_decay and clip must not be negative")
        try require(beta2 > 0 && beta2 < 1, "beta2 must be in (0, 1)")
        try require(evalEvery >= 0 && devCount >= 0, "eval_every and dev_count must not be negative")
        try require(maxNewTokens >= 8, "max_new_tokens must be at least 8")
        try require(
            quant.isEmpty || quant == "none" || QuantizationScheme(rawValue: quant) != nil,
            "unknown quant \"\(quant)\": use b1.58 or a4.8 (or leave it empty for floating point)")
        try require(
            quant != QuantizationScheme.a48.rawValue || hiddenAct == FeedForwardKind.reluSquaredGLU.rawValue,
            "quant a4.8 needs the ReLU²GLU feed-forward: set hidden_act to relu2")
        try require(
            quantStage1Fraction >= 0 && quantStage1Fraction <= 1, "quant_stage1_fraction must be in [0, 1]")
        try require(
            (1...64).contains(solutionVariants), "solution_variants must be between 1 and 64 (got \(solutionVariants))")
        try require(
            VariantStyle(rawValue: variantStyle) != nil,
            "variant_style must be \"mixed\" or \"decomposed\" (got \"\(variantStyle)\")")
        try require(devK >= 0, "dev_k must not be negative")
        try require(select == "last" || select == "margin", "select must be \"last\" or \"margin\" (got \"\(select)\")")
        try require(
            select == "last" || (devK > 0 && devCount > 0),
            "select: margin needs dev_k > 0 and dev_count > 0 (majority-of-k on the dev split)")
        try require((0...1).contains(selectMinGreedy), "select_min_greedy must be in [0, 1]")
    }

    /// The model shape for a tokenizer of `vocabulary` ids with the given BOS/EOS.
    public func llamaConfig(vocabulary: Int, bos: Int?, eos: Int?) -> LlamaConfig {
        LlamaConfig(
            hiddenSize: hidden, intermediateSize: intermediate, numAttentionHeads: heads, numKeyValueHeads: kvHeads,
            numHiddenLayers: layers, vocabSize: vocabulary, ropeTheta: ropeTheta, tieWordEmbeddings: true,
            maxPositionEmbeddings: maxPositions, bosTokenId: bos, eosTokenId: eos,
            hiddenAct: FeedForwardKind(rawValue: hiddenAct) ?? .swiGLU, quantization: quantStages.first?.scheme)
    }

    /// The quantization stages of the run: none; b1.58 for every step; or for a4.8, b1.58 for
    /// ⌊quantStage1Fraction · steps⌋ steps and a4.8 for the rest (a stage with no steps is left out).
    public var quantStages: [(scheme: QuantizationScheme, steps: Range<Int>)] {
        guard let scheme = QuantizationScheme(rawValue: quant) else { return [] }
        guard scheme == .a48 else { return [(scheme, 0..<steps)] }
        let first = min(steps, max(0, Int((quantStage1Fraction * Double(steps)).rounded(.down))))
        return [(QuantizationScheme.b158, 0..<first), (QuantizationScheme.a48, first..<steps)].filter {
            !$0.steps.isEmpty
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataSeed = "data_seed", trainCount = "train_count", minSteps = "min_steps", maxSteps = "max_steps"
        case maxNumber = "max_number", maxResult = "max_result", operations, swapOperands = "swap_operands"
        case vocabSize = "vocab_size", pretokenizer
        case tokenizerProblems = "tokenizer_problems", layers, hidden, heads, kvHeads = "kv_heads", intermediate
        case maxPositions = "max_positions", hiddenAct = "hidden_act", ropeTheta = "rope_theta", seed, steps, batch
        case gradAccum = "grad_accum", lr, minLR = "min_lr", warmup, weightDecay = "weight_decay", beta2, clip
        case evalEvery = "eval_every", devCount = "dev_count", maxNewTokens = "max_new_tokens"
        case quant, quantStage1Fraction = "quant_stage1_fraction"
        case solutionVariants = "solution_variants", variantStyle = "variant_style", reorderSteps = "reorder_steps"
        case subtractParts = "subtract_parts", distributeProducts = "distribute_products"
        case devK = "dev_k", select
        case selectMinGreedy = "select_min_greedy"
    }

    /// Reads a configuration; absent keys keep their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<V: Decodable>(_ key: CodingKeys, _ value: inout V) throws {
            if let decoded = try c.decodeIfPresent(V.self, forKey: key) { value = decoded }
        }
        try read(.dataSeed, &dataSeed)
        try read(.trainCount, &trainCount)
        try read(.minSteps, &minSteps)
        try read(.maxSteps, &maxSteps)
        try read(.maxNumber, &maxNumber)
        maxResult = try c.decodeIfPresent(Int.self, forKey: .maxResult)
        operations = try c.decodeIfPresent(String.self, forKey: .operations)
        try read(.swapOperands, &swapOperands)
        try read(.vocabSize, &vocabSize)
        try read(.pretokenizer, &pretokenizer)
        try read(.tokenizerProblems, &tokenizerProblems)
        try read(.layers, &layers)
        try read(.hidden, &hidden)
        try read(.heads, &heads)
        try read(.kvHeads, &kvHeads)
        try read(.intermediate, &intermediate)
        try read(.maxPositions, &maxPositions)
        try read(.hiddenAct, &hiddenAct)
        try read(.ropeTheta, &ropeTheta)
        try read(.seed, &seed)
        try read(.steps, &steps)
        try read(.batch, &batch)
        try read(.gradAccum, &gradAccum)
        try read(.lr, &lr)
        try read(.minLR, &minLR)
        try read(.warmup, &warmup)
        try read(.weightDecay, &weightDecay)
        try read(.beta2, &beta2)
        try read(.clip, &clip)
        try read(.evalEvery, &evalEvery)
        try read(.devCount, &devCount)
        try read(.maxNewTokens, &maxNewTokens)
        try read(.quant, &quant)
        try read(.quantStage1Fraction, &quantStage1Fraction)
        try read(.solutionVariants, &solutionVariants)
        try read(.variantStyle, &variantStyle)
        try read(.reorderSteps, &reorderSteps)
        try read(.subtractParts, &subtractParts)
        try read(.distributeProducts, &distributeProducts)
        try read(.devK, &devK)
        try read(.select, &select)
        try read(.selectMinGreedy, &selectMinGreedy)
    }

    /// Loads a JSON configuration file, rejecting unknown keys.
    ///
    /// - Throws: ``TrainingError`` saying what is wrong with the file.
    public static func load(path: String) throws(TrainingError) -> SFTConfig {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TrainingError("cannot read the config file \(path): \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TrainingError(
                "\(path) is not a JSON object; write the configuration as JSON (see pipelines/seed-model.json)")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let unknown = object.keys.filter { !known.contains($0) && !$0.hasPrefix("_") }.sorted()
        guard unknown.isEmpty else {
            throw TrainingError(
                "\(path) has unknown keys \(unknown.joined(separator: ", ")); known keys: "
                    + known.sorted().joined(separator: ", ") + " (keys starting with _ are comments)")
        }
        let config: SFTConfig
        do { config = try JSONDecoder().decode(SFTConfig.self, from: data) } catch let DecodingError.typeMismatch(
            _, context)
        {
            throw TrainingError(
                "\(path): \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type "
                    + "(\(context.debugDescription))")
        } catch {
            throw TrainingError("\(path) is not a valid training configuration: \(error)")
        }
        try config.validate()
        return config
    }
}

/// A problem with a training or evaluation run, said so that a person can act on it.
public struct TrainingError: Error, Sendable, CustomStringConvertible {
    /// What was wrong and what to do.
    public var message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
