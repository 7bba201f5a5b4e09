/// The feed-forward block of each transformer layer.
public enum FeedForwardKind: String, Sendable, Codable {
    /// Llama's SwiGLU, `down(silu(gate(x)) ⊙ up(x))` (Shazeer 2020); `hidden_act: "silu"`.
    case swiGLU = "silu"
    /// BitNet a4.8's ReLU²GLU, `down(up(x) ⊙ relu(gate(x))²)`; `hidden_act: "relu2"`.
    case reluSquaredGLU = "relu2"
}

/// A Llama-family model's shape, read from and written to Hugging Face's `config.json`
/// (snake_case keys, as `transformers.LlamaConfig` writes them).
public struct LlamaConfig: Codable, Sendable, Equatable {
    /// Width of the residual stream (`hidden_size`).
    public var hiddenSize: Int
    /// Width of the feed-forward block (`intermediate_size`).
    public var intermediateSize: Int
    /// Query heads (`num_attention_heads`).
    public var numAttentionHeads: Int
    /// Key/value heads for grouped-query attention (`num_key_value_heads`); divides the query heads.
    public var numKeyValueHeads: Int
    /// Transformer layers (`num_hidden_layers`).
    public var numHiddenLayers: Int
    /// RMSNorm epsilon (`rms_norm_eps`).
    public var rmsNormEps: Double
    /// Rotary base θ (`rope_theta`).
    public var ropeTheta: Double
    /// Vocabulary size (`vocab_size`).
    public var vocabSize: Int
    /// Whether the LM head reuses the token embedding (`tie_word_embeddings`).
    public var tieWordEmbeddings: Bool
    /// Longest sequence the rotary table covers (`max_position_embeddings`).
    public var maxPositionEmbeddings: Int
    /// Beginning-of-sequence token (`bos_token_id`).
    public var bosTokenId: Int?
    /// End-of-sequence token (`eos_token_id`; HF also allows a list, of which the first is kept).
    public var eosTokenId: Int?
    /// The FFN activation (`hidden_act`): `"silu"` (SwiGLU) or `"relu2"` (ReLU²GLU).
    public var hiddenAct: FeedForwardKind
    /// Per-head width (`head_dim`); `hidden_size / num_attention_heads` when absent.
    public var headDim: Int
    /// Quantization-aware training / serving scheme of the block linears (`quantization.scheme`:
    /// `"b1.58"` or `"a4.8"`), or `nil` for a plain floating-point model.
    public var quantization: QuantizationScheme?

    /// A configuration; `headDim` defaults to `hiddenSize / numAttentionHeads`.
    public init(
        hiddenSize: Int, intermediateSize: Int, numAttentionHeads: Int, numKeyValueHeads: Int,
        numHiddenLayers: Int, vocabSize: Int, rmsNormEps: Double = 1e-5, ropeTheta: Double = 10_000,
        tieWordEmbeddings: Bool = true, maxPositionEmbeddings: Int = 2048, bosTokenId: Int? = nil,
        eosTokenId: Int? = nil, hiddenAct: FeedForwardKind = .swiGLU, headDim: Int? = nil,
        quantization: QuantizationScheme? = nil
    ) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numAttentionHeads = numAttentionHeads
        self.numKeyValueHeads = numKeyValueHeads
        self.numHiddenLayers = numHiddenLayers
        self.vocabSize = vocabSize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.tieWordEmbeddings = tieWordEmbeddings
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.hiddenAct = hiddenAct
        self.headDim = headDim ?? hiddenSize / numAttentionHeads
        self.quantization = quantization
    }

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case numHiddenLayers = "num_hidden_layers"
        case rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case vocabSize = "vocab_size"
        case tieWordEmbeddings = "tie_word_embeddings"
        case maxPositionEmbeddings = "max_position_embeddings"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case hiddenAct = "hidden_act"
        case headDim = "head_dim"
        case architectures, modelType = "model_type", torchDtype = "torch_dtype"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case ropeParameters = "rope_parameters", ropeScaling = "rope_scaling"
        case quantization
    }

    /// The `quantization` section of `config.json`: the scheme, and (written only, for readers) what
    /// it quantizes how. Not Hugging Face's `quantization_config`, so `transformers` loads the latent
    /// floating-point weights as a plain Llama.
    struct QuantizationSection: Codable {
        var scheme: QuantizationScheme
        var description: String?
        var quantized: String?
        var storage: String?
    }

    /// `rope_parameters` (transformers ≥ 5) or `rope_scaling` (older): only plain RoPE is supported.
    struct RopeParameters: Codable {
        var ropeTheta: Double?
        var ropeType: String?
        var type: String?
        enum CodingKeys: String, CodingKey {
            case ropeTheta = "rope_theta", ropeType = "rope_type", type
        }
    }

    /// Reads HF's `config.json` fields; absent optional ones take `transformers`' defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        rmsNormEps = try c.decodeIfPresent(Double.self, forKey: .rmsNormEps) ?? 1e-6
        let ropeParameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters)
        let ropeScaling = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeScaling)
        for p in [ropeParameters, ropeScaling].compactMap({ $0 }) {
            let kind = p.ropeType ?? p.type ?? "default"
            guard kind == "default" else {
                throw DecodingError.dataCorruptedError(
                    forKey: .ropeParameters, in: c,
                    debugDescription: "rope type \"\(kind)\" is not supported (only default RoPE)")
            }
        }
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? ropeParameters?.ropeTheta ?? 10_000
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId)
        if let list = try? c.decodeIfPresent([Int].self, forKey: .eosTokenId) {
            eosTokenId = list.first
        } else {
            eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId)
        }
        hiddenAct = try c.decodeIfPresent(FeedForwardKind.self, forKey: .hiddenAct) ?? .swiGLU
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? hiddenSize / numAttentionHeads
        do {
            quantization = try c.decodeIfPresent(QuantizationSection.self, forKey: .quantization)?.scheme
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .quantization, in: c,
                debugDescription: "quantization must be {\"scheme\": \"b1.58\" or \"a4.8\"} (\(error))")
        }
        if try c.decodeIfPresent(Bool.self, forKey: .attentionBias) == true
            || c.decodeIfPresent(Bool.self, forKey: .mlpBias) == true
        {
            throw DecodingError.dataCorruptedError(
                forKey: .attentionBias, in: c, debugDescription: "biases in attention or MLP are not supported")
        }
    }

    /// Writes the fields `transformers` needs to rebuild a `LlamaForCausalLM`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(["LlamaForCausalLM"], forKey: .architectures)
        try c.encode("llama", forKey: .modelType)
        try c.encode("float32", forKey: .torchDtype)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try c.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(RopeParameters(ropeTheta: ropeTheta, ropeType: "default"), forKey: .ropeParameters)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encodeIfPresent(bosTokenId, forKey: .bosTokenId)
        try c.encodeIfPresent(eosTokenId, forKey: .eosTokenId)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(false, forKey: .attentionBias)
        try c.encode(false, forKey: .mlpBias)
        if let quantization {
            try c.encode(
                QuantizationSection(
                    scheme: quantization, description: quantization.summary,
                    quantized:
                        "the linear layers inside the transformer blocks; embeddings, norms and LM head are fp32",
                    storage:
                        "the stored weights are the fp32 latent weights; quantize them (absmean ternary) to serve"),
                forKey: .quantization)
        }
    }

    /// Query width, `numAttentionHeads · headDim`.
    public var queryDim: Int { numAttentionHeads * headDim }
    /// Key/value width, `numKeyValueHeads · headDim`.
    public var keyValueDim: Int { numKeyValueHeads * headDim }

    /// Checks the shape is one the model can run.
    public func validate() throws(ModelError) {
        guard hiddenSize > 0, intermediateSize > 0, numHiddenLayers > 0, vocabSize > 0, headDim > 0,
            numAttentionHeads > 0, numKeyValueHeads > 0
        else { throw ModelError("every size in the config must be positive") }
        // Upper bounds far beyond any model this engine runs, so that a crafted config.json cannot
        // make the size products below overflow or ask for petabytes.
        for (name, value, limit) in [
            ("hidden_size", hiddenSize, 1 << 16), ("intermediate_size", intermediateSize, 1 << 18),
            ("num_hidden_layers", numHiddenLayers, 1 << 10), ("vocab_size", vocabSize, 1 << 24),
            ("head_dim", headDim, 1 << 12), ("num_attention_heads", numAttentionHeads, 1 << 10),
            ("num_key_value_heads", numKeyValueHeads, 1 << 10), ("max_position_embeddings", maxPositionEmbeddings, 1 << 22),
        ] where value > limit {
            throw ModelError("\(name) = \(value) is larger than this engine allows (\(limit))")
        }
        guard maxPositionEmbeddings > 0 else { throw ModelError("max_position_embeddings must be positive") }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw ModelError(
                "num_attention_heads (\(numAttentionHeads)) must be a multiple of num_key_value_heads (\(numKeyValueHeads))"
            )
        }
        guard headDim % 2 == 0 else { throw ModelError("head_dim (\(headDim)) must be even for rotary embeddings") }
        if quantization == .a48 && hiddenAct != .reluSquaredGLU {
            throw ModelError(
                "quantization a4.8 needs the ReLU²GLU feed-forward (hidden_act \"relu2\"), not \"\(hiddenAct.rawValue)\""
            )
        }
    }
}

/// A problem with a model, its configuration or its weights, said so that a person can fix it.
public struct ModelError: Error, Sendable, CustomStringConvertible {
    /// What was wrong and, where it helps, what to do.
    public var description: String
    /// An error with `description`.
    public init(_ description: String) { self.description = description }
}
