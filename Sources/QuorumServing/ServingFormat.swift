public import QuorumQuant

/// One of the seven linear layers inside a transformer block, named as Hugging Face names it.
public enum LinearRole: String, CaseIterable, Sendable {
    /// Attention query projection.
    case q = "self_attn.q_proj"
    /// Attention key projection.
    case k = "self_attn.k_proj"
    /// Attention value projection.
    case v = "self_attn.v_proj"
    /// Attention output projection.
    case o = "self_attn.o_proj"
    /// FFN gate projection.
    case gate = "mlp.gate_proj"
    /// FFN up projection.
    case up = "mlp.up_proj"
    /// FFN down projection.
    case down = "mlp.down_proj"

    /// The weight's tensor name in layer `layer`, e.g. `model.layers.0.self_attn.q_proj.weight`.
    public func tensorName(layer: Int) -> String { "model.layers.\(layer).\(rawValue).weight" }
}

/// A whole-model serving format: which ``QuantFormat`` each linear layer inside the blocks gets.
/// Embeddings, norms and the LM head always stay fp32 (docs/papers.md §3: only the linear layers inside
/// transformer blocks are quantized).
public enum ServingFormat: String, CaseIterable, Sendable, Codable {
    /// Unquantized (the reference).
    case fp32
    /// bfloat16 weights, fp32 arithmetic.
    case bf16
    /// W8A8-INT: int8 per-channel weights, dynamic per-token int8 activations.
    case w8a8
    /// W8A8-FP: FP8 E4M3 weights and activations (emulated).
    case w8a8FP = "w8a8-fp"
    /// W4A16-INT: int4 weights in groups of 128 with MSE clipping; 16-bit activations (int16 codes with
    /// one absmax scale per group of 128).
    case w4a16
    /// BitNet b1.58: ternary weights, INT8 absmax activations into every linear layer.
    case b158 = "b1.58"
    /// BitNet a4.8: ternary weights; INT4 absmean into q/k/v and up/gate, top-50 % then INT8 into
    /// o_proj, INT8 into down_proj (the paper pairs it with a ReLU²GLU FFN, `hidden_act: relu2`).
    case a48 = "a4.8"

    /// The layer format of `role` (docs/papers.md §2 table for a4.8).
    public func linearFormat(for role: LinearRole) -> QuantFormat {
        switch self {
        case .fp32: .fp32
        case .bf16: .bf16
        case .w8a8: .w8a8Int
        case .w8a8FP: .w8a8FP
        case .w4a16: .w4a16Int
        case .b158: .ternary(.int8Absmax)
        case .a48:
            switch role {
            case .q, .k, .v, .gate, .up: .ternary(.int4Absmean)
            case .o: .ternary(.topHalfInt8)
            case .down: .ternary(.int8Absmax)
            }
        }
    }

    /// Whether the weights are ternary (one scale per tensor, so projections are not fused).
    public var isTernary: Bool { self == .b158 || self == .a48 }

    /// The names `--format` accepts, comma-separated.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// The format a pipeline worker serves a model in. A model trained with quantization-aware
    /// training for a ternary scheme (`trained`) holds latent weights that only make sense in that
    /// scheme, so the pipeline default `fp32` means "as trained" for it, and any other format is an error.
    public static func forPipeline(requested: ServingFormat, trained: ServingFormat?) throws(ServingError)
        -> ServingFormat
    {
        guard let trained else { return requested }
        guard requested == .fp32 || requested == trained else {
            throw ServingError(
                "the model was trained for \(trained.rawValue) (quantization-aware), so it cannot be served as "
                    + "\(requested.rawValue); set serving_format: \(trained.rawValue) (or fp32) in the pipeline spec")
        }
        return trained
    }

    /// The format called `name`, or an error listing the known names.
    public static func named(_ name: String) throws(ServingError) -> ServingFormat {
        guard let format = ServingFormat(rawValue: name) else {
            throw ServingError("unknown format \"\(name)\"; use one of \(names)")
        }
        return format
    }
}

/// A problem with a serving model or its folder, said so that a person can fix it.
public struct ServingError: Error, Sendable, CustomStringConvertible {
    /// What was wrong and what to do.
    public var description: String
    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}
