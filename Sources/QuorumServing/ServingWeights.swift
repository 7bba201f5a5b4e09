public import QuorumModel
public import QuorumQuant
public import QuorumTensor

/// A serving model's weights before they are laid out for the kernels: the fp32 tensors (embedding,
/// norms, an untied LM head) and one packed matrix per linear layer inside the blocks, all under
/// Hugging Face's tensor names. This is what a quantized model folder stores.
public struct ServingWeights: Sendable {
    /// The model's shape.
    public var config: LlamaConfig
    /// The format of the packed matrices.
    public var format: ServingFormat
    /// fp32 tensors by name (row-major).
    public var floats: [String: [Float]]
    /// Packed linear weights by name.
    public var packed: [String: PackedMatrix]

    /// Weights from their parts; see ``validate()``.
    public init(config: LlamaConfig, format: ServingFormat, floats: [String: [Float]], packed: [String: PackedMatrix]) {
        self.config = config
        self.format = format
        self.floats = floats
        self.packed = packed
    }

    /// Quantizes a trained fp32 model's block linear layers to `format` (the rest is copied).
    public init(model: LlamaModel<Float>, format: ServingFormat) throws(ServingError) {
        let c = model.config
        config = c
        self.format = format
        floats = [:]
        packed = [:]
        for name in Self.floatTensorNames(config: c) {
            guard let t = model.tensor(named: name) else { throw ServingError("the model has no tensor \"\(name)\"") }
            floats[name] = t.storage
        }
        for l in 0..<c.numHiddenLayers {
            for role in LinearRole.allCases {
                let name = role.tensorName(layer: l)
                guard let t = model.tensor(named: name), t.shape.count == 2 else {
                    throw ServingError("the model has no matrix \"\(name)\"")
                }
                packed[name] = PackedMatrix(
                    weights: t.storage, outFeatures: t.shape[0], inFeatures: t.shape[1],
                    format: format.linearFormat(for: role))
            }
        }
    }

    /// Names of the tensors that stay fp32: embedding, norms, and `lm_head.weight` when untied.
    public static func floatTensorNames(config c: LlamaConfig) -> [String] {
        var names = ["model.embed_tokens.weight", "model.norm.weight"]
        for l in 0..<c.numHiddenLayers {
            names.append("model.layers.\(l).input_layernorm.weight")
            names.append("model.layers.\(l).post_attention_layernorm.weight")
        }
        if !c.tieWordEmbeddings { names.append("lm_head.weight") }
        return names
    }

    /// The shape `[out, in]` of a block linear layer.
    public static func shape(of role: LinearRole, config c: LlamaConfig) -> (out: Int, in: Int) {
        switch role {
        case .q: (c.queryDim, c.hiddenSize)
        case .k, .v: (c.keyValueDim, c.hiddenSize)
        case .o: (c.hiddenSize, c.queryDim)
        case .gate, .up: (c.intermediateSize, c.hiddenSize)
        case .down: (c.hiddenSize, c.intermediateSize)
        }
    }

    /// The element count of an fp32 tensor.
    static func floatCount(_ name: String, config c: LlamaConfig) -> Int {
        if name == "model.embed_tokens.weight" || name == "lm_head.weight" { return c.vocabSize * c.hiddenSize }
        return c.hiddenSize
    }

    /// Checks every tensor is present with the size the config and format need.
    public func validate() throws(ServingError) {
        do { try config.validate() } catch { throw ServingError("bad config: \(error)") }
        for name in Self.floatTensorNames(config: config) {
            guard let values = floats[name] else { throw ServingError("missing fp32 tensor \"\(name)\"") }
            let expected = Self.floatCount(name, config: config)
            guard values.count == expected else {
                throw ServingError("\"\(name)\" has \(values.count) values; the config needs \(expected)")
            }
        }
        for l in 0..<config.numHiddenLayers {
            for role in LinearRole.allCases {
                let name = role.tensorName(layer: l)
                guard let m = packed[name] else { throw ServingError("missing packed matrix \"\(name)\"") }
                let (out, inDim) = Self.shape(of: role, config: config)
                let layout = QuantizedLinear.layout(for: format.linearFormat(for: role))
                guard m.outFeatures == out, m.inFeatures == inDim, m.layout == layout else {
                    throw ServingError(
                        "\"\(name)\" is \(m.layout.rawValue) \(m.outFeatures)×\(m.inFeatures); format \(format.rawValue) "
                            + "and the config need \(layout.rawValue) \(out)×\(inDim)")
                }
                let scales: Int
                switch layout {
                case .fp32, .bf16: scales = 0
                case .int8, .e4m3: scales = out
                case .int4Groups: scales = out * Quantize.int4GroupCount(inFeatures: inDim)
                case .ternary2Bit: scales = 1
                }
                guard m.scales.count == scales, m.bytes.count == out * m.rowBytes,
                    layout != .int4Groups || m.groupsPerRow == Quantize.int4GroupCount(inFeatures: inDim)
                else {
                    throw ServingError(
                        "\"\(name)\" holds \(m.bytes.count) bytes and \(m.scales.count) scales; "
                            + "\(layout.rawValue) \(out)×\(inDim) needs \(out * m.rowBytes) and \(scales)")
                }
                guard m.scales.allSatisfy(\.isFinite) else { throw ServingError("\"\(name)\" has a non-finite scale") }
            }
        }
    }

    /// Bytes of the packed block weights (with their scales).
    public var linearBytes: Int { packed.values.reduce(0) { $0 + $1.storedBytes } }
}
