import QuorumTensor

/// Where every named weight lives inside the model's one flat parameter buffer (llm.c style:
/// one allocation, so the optimiser, gradient clipping and zeroing are single loops).
public struct ParameterLayout: Sendable {
    /// One named tensor of the model.
    public struct Entry: Sendable {
        /// Hugging Face's tensor name, e.g. `model.layers.0.self_attn.q_proj.weight`.
        public var name: String
        /// Its shape, `[out, in]` for linear weights.
        public var shape: [Int]
        /// First element in the flat buffer.
        public var offset: Int
        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
    }

    /// Offsets of one transformer layer's weights.
    struct LayerOffsets: Sendable {
        var inputNorm = 0, q = 0, k = 0, v = 0, o = 0, postNorm = 0, gate = 0, up = 0, down = 0
    }

    /// Every tensor, in the order Hugging Face lists them.
    public private(set) var entries: [Entry] = []
    /// Total number of parameters.
    public private(set) var count = 0
    /// Offset of `model.embed_tokens.weight`.
    private(set) var embed = 0
    /// Offset of `model.norm.weight`.
    private(set) var finalNorm = 0
    /// Offset of the LM head: `lm_head.weight`, or the embedding when tied.
    private(set) var lmHead = 0
    /// Per-layer offsets.
    private(set) var layers: [LayerOffsets] = []

    /// The layout for `config`.
    public init(config c: LlamaConfig) {
        let d = c.hiddenSize
        embed = add("model.embed_tokens.weight", [c.vocabSize, d])
        for l in 0..<c.numHiddenLayers {
            let p = "model.layers.\(l)."
            var o = LayerOffsets()
            o.inputNorm = add(p + "input_layernorm.weight", [d])
            o.q = add(p + "self_attn.q_proj.weight", [c.queryDim, d])
            o.k = add(p + "self_attn.k_proj.weight", [c.keyValueDim, d])
            o.v = add(p + "self_attn.v_proj.weight", [c.keyValueDim, d])
            o.o = add(p + "self_attn.o_proj.weight", [d, c.queryDim])
            o.postNorm = add(p + "post_attention_layernorm.weight", [d])
            o.gate = add(p + "mlp.gate_proj.weight", [c.intermediateSize, d])
            o.up = add(p + "mlp.up_proj.weight", [c.intermediateSize, d])
            o.down = add(p + "mlp.down_proj.weight", [d, c.intermediateSize])
            layers.append(o)
        }
        finalNorm = add("model.norm.weight", [d])
        lmHead = c.tieWordEmbeddings ? embed : add("lm_head.weight", [c.vocabSize, d])
    }

    private mutating func add(_ name: String, _ shape: [Int]) -> Int {
        let offset = count
        entries.append(Entry(name: name, shape: shape, offset: offset))
        count += shape.reduce(1, *)
        return offset
    }

    /// The entry named `name`, if the model has it.
    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
