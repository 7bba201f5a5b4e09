/// The settings of one SCPO round's training (docs/papers.md §1 step 7), and of its baselines.
///
/// JSON keys are snake_case. Where the paper is silent or its numbers are for an 8B model, the
/// defaults below are this project's choice:
///
/// - **Learning rate**: the paper's 5e-6 is for Llama-3 8B; small models need larger steps. The
///   default 1e-5 is a conservative starting point for the seed models here: tune it per model size
///   (the dev split picks the epoch, not the rate).
/// - **Schedule**: linear warm-up over the first ``warmupFraction`` of all steps, then cosine
///   decay to ``minLR`` at the last step (the paper says "cosine", nothing about warm-up).
/// - **Batches**: ``batch`` pairs per optimiser step (paper: 16), run as micro-batches of
///   ``microBatch`` pairs whose gradients accumulate. The last step of an epoch takes the pairs that
///   are left (every pair is seen once per epoch); its loss is the mean over those pairs.
/// - **Weight decay** 0 and **clipping** at global norm 1: the usual DPO settings (the paper does not say).
public struct SCPOConfig: Sendable, Hashable, Codable {
    /// The objective: SCPO or a baseline.
    public var mode: SCPOMode = .scpo
    /// β of the implicit reward (paper: 0.5).
    public var beta: Double = 0.5
    /// α, the NLL coefficient (paper: 1).
    public var alpha: Double = 1
    /// Passes over the pairs (paper: 10).
    public var epochs: Int = 10
    /// Peak learning rate.
    public var lr: Double = 1e-5
    /// Learning rate at the end of the cosine decay.
    public var minLR: Double = 0
    /// Fraction of all steps spent warming up linearly (at least one step when positive).
    public var warmupFraction: Double = 0.1
    /// Pairs per optimiser step: the effective batch (paper: 16).
    public var batch: Int = 16
    /// Pairs per forward/backward (each pair is two sequences, one for LMSI).
    public var microBatch: Int = 8
    /// AdamW decoupled weight decay λ.
    public var weightDecay: Double = 0
    /// AdamW β₂.
    public var beta2: Double = 0.95
    /// Global gradient-norm clipping threshold (0 disables clipping).
    public var clip: Double = 1
    /// Seed of the per-epoch shuffles.
    public var seed: UInt64 = 0
    /// Pairs per forward pass when scoring the reference log-probabilities.
    public var referenceBatch: Int = 16
    /// Whether the model ends the run with the weights of the best epoch (by dev accuracy) rather
    /// than the last.
    public var restoreBest: Bool = true
    /// Whether the starting model M_t competes with the epochs on the dev split: when no epoch beats
    /// its dev metric, the run ends with M_t's own weights (best epoch 0). Needs a dev split.
    public var keepStartUnlessBeaten: Bool = false

    /// The defaults above.
    public init() {}

    /// The loss these settings describe.
    public var loss: SCPOLoss { mode.loss(beta: beta, alpha: alpha) }

    /// Checks every field, naming the one to change.
    ///
    /// - Throws: ``SCPOError`` saying which value is out of range.
    public func validate() throws(SCPOError) {
        func require(_ ok: Bool, _ message: String) throws(SCPOError) {
            if !ok { throw SCPOError(message) }
        }
        try require(beta.isFinite && beta > 0, "beta must be a positive number (paper: 0.5), got \(beta)")
        try require(alpha.isFinite && alpha >= 0, "alpha must be 0 or more (paper: 1), got \(alpha)")
        try require(
            mode != .lmsi || alpha > 0, "lmsi trains only the NLL term, so alpha must be positive (got \(alpha))")
        try require(epochs >= 1, "epochs must be at least 1 (got \(epochs))")
        try require(lr.isFinite && lr > 0, "lr must be positive (got \(lr))")
        try require(minLR >= 0 && minLR <= lr, "min_lr must be between 0 and lr (got \(minLR))")
        try require((0..<1).contains(warmupFraction), "warmup_fraction must be in [0, 1) (got \(warmupFraction))")
        try require(batch >= 1 && microBatch >= 1 && referenceBatch >= 1, "batch sizes must be at least 1")
        try require(weightDecay >= 0 && clip >= 0, "weight_decay and clip must not be negative")
        try require(beta2 > 0 && beta2 < 1, "beta2 must be in (0, 1) (got \(beta2))")
    }

    /// The optimiser steps of one epoch over `pairs` pairs.
    public func stepsPerEpoch(pairs: Int) -> Int { (pairs + batch - 1) / batch }

    /// The warm-up steps for a run of `totalSteps`.
    public func warmupSteps(totalSteps: Int) -> Int {
        warmupFraction > 0 ? max(1, Int((warmupFraction * Double(totalSteps)).rounded())) : 0
    }

    /// The JSON (and pipeline-spec `trainer:`) keys.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case mode, beta, alpha, epochs, lr, minLR = "min_lr", warmupFraction = "warmup_fraction", batch
        case microBatch = "micro_batch", weightDecay = "weight_decay", beta2, clip, seed
        case referenceBatch = "reference_batch", restoreBest = "restore_best"
        case keepStartUnlessBeaten = "keep_start_unless_beaten"
    }

    /// Decodes with the defaults above for every absent key.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Self()
        mode = try c.decodeIfPresent(SCPOMode.self, forKey: .mode) ?? d.mode
        beta = try c.decodeIfPresent(Double.self, forKey: .beta) ?? d.beta
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? d.alpha
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        lr = try c.decodeIfPresent(Double.self, forKey: .lr) ?? d.lr
        minLR = try c.decodeIfPresent(Double.self, forKey: .minLR) ?? d.minLR
        warmupFraction = try c.decodeIfPresent(Double.self, forKey: .warmupFraction) ?? d.warmupFraction
        batch = try c.decodeIfPresent(Int.self, forKey: .batch) ?? d.batch
        microBatch = try c.decodeIfPresent(Int.self, forKey: .microBatch) ?? d.microBatch
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        beta2 = try c.decodeIfPresent(Double.self, forKey: .beta2) ?? d.beta2
        clip = try c.decodeIfPresent(Double.self, forKey: .clip) ?? d.clip
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        referenceBatch = try c.decodeIfPresent(Int.self, forKey: .referenceBatch) ?? d.referenceBatch
        restoreBest = try c.decodeIfPresent(Bool.self, forKey: .restoreBest) ?? d.restoreBest
        keepStartUnlessBeaten =
            try c.decodeIfPresent(Bool.self, forKey: .keepStartUnlessBeaten) ?? d.keepStartUnlessBeaten
    }
}

/// A problem with an SCPO run, said so that a person can act on it.
public struct SCPOError: Error, Sendable, CustomStringConvertible {
    /// What was wrong and what to do.
    public var message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
