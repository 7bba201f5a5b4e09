import Foundation
public import GGUF
import QuorumModel
import QuorumTensor
import QuorumTokenizer

/// Writes a Hugging Face-layout SwiGLU Llama folder (`config.json`, `model.safetensors`,
/// `tokenizer.json`) as a llama.cpp GGUF file of architecture `llama`.
///
/// Linear layers inside transformer blocks are stored in ``type``'s ggml format when their rows (the
/// input size) are a multiple of its block (32 for Q8_0 and Q4_0, 256 for TQ2_0) and in ``fallback``
/// otherwise; embeddings, the LM head and norms stay F32. Query and key rows are reordered for
/// llama.cpp's adjacent-pair RoPE.
public struct LlamaGGUFExport: Sendable {
    /// The type of the block linear layers.
    public var type: LlamaGGUF.ExportType
    /// The type of block linears whose rows do not fit ``type``'s block.
    public var fallback: GGMLType
    /// llama.cpp's pre-tokenizer name; nil detects it from the tokenizer's splitting rule.
    public var preTokenizer: String?
    /// `general.name`; nil uses the folder's name.
    public var name: String?

    /// An export of the given types.
    public init(
        type: LlamaGGUF.ExportType, fallback: GGMLType = .f16, preTokenizer: String? = nil, name: String? = nil
    ) {
        self.type = type
        self.fallback = fallback
        self.preTokenizer = preTokenizer
        self.name = name
    }

    /// What was written: tensors, bytes per ggml type, the file's size.
    public struct Summary: Sendable {
        /// One ggml type's share of the file.
        public struct TypeShare: Sendable {
            /// The ggml type's name.
            public var type: String
            /// Tensors stored in it.
            public var tensors: Int
            /// Their bytes.
            public var bytes: Int
        }

        /// The file written.
        public var path: String
        /// Tensors in the file.
        public var tensors: Int
        /// The file's size in bytes.
        public var fileBytes: Int
        /// The pre-tokenizer name recorded.
        public var preTokenizer: String
        /// Tensors and bytes per ggml type, by type name.
        public var byType: [TypeShare]

        /// The lines a person reads after an export.
        public var lines: [String] {
            ["wrote \(path): \(tensors) tensors, \(fileBytes) bytes, pre-tokenizer \(preTokenizer)"]
                + byType.map { "  \($0.type): \($0.tensors) tensors, \($0.bytes) bytes" }
        }
    }

    /// Exports the model folder `directory` to the GGUF file `path`.
    ///
    /// - Throws: ``ExportError`` saying what in the folder cannot be exported and why.
    public func write(modelDirectory directory: String, to path: String) throws -> Summary {
        let folder = URL(fileURLWithPath: directory)
        let config = try Self.reporting { () throws -> LlamaConfig in
            let config = try LlamaConfig.load(path: folder.appendingPathComponent("config.json").path)
            try config.validate()
            return config
        }
        guard config.hiddenAct == .swiGLU else {
            throw ExportError(
                "\(directory) uses a \(config.hiddenAct.rawValue) (ReLU²GLU) feed-forward; llama.cpp's `llama` "
                    + "architecture computes SwiGLU (silu), so its output would be wrong. Only SwiGLU models can be "
                    + "exported to GGUF.")
        }
        let tokenizerPath = folder.appendingPathComponent("tokenizer.json")
        let bpe = try Self.reporting { try BPETokenizer(tokenizerJSON: tokenizerPath) }
        let tokenizer = try ggufTokenizer(bpe, config: config, path: tokenizerPath.path)
        let tensors = try Self.reporting {
            try LlamaModel<Float>.readTensors(path: folder.appendingPathComponent("model.safetensors").path)
        }
        let hyper = LlamaGGUF.Hyperparameters(
            name: name ?? folder.lastPathComponent, contextLength: config.maxPositionEmbeddings,
            embeddingLength: config.hiddenSize, blockCount: config.numHiddenLayers,
            feedForwardLength: config.intermediateSize, headCount: config.numAttentionHeads,
            headCountKV: config.numKeyValueHeads, headDim: config.headDim, ropeFreqBase: config.ropeTheta,
            rmsEpsilon: config.rmsNormEps, vocabSize: config.vocabSize)

        var writer = GGUFWriter()
        for (key, value) in LlamaGGUF.metadata(model: hyper, tokenizer: tokenizer, export: type) {
            writer.set(key, value)
        }
        var used = Set<String>()
        for (hfName, shape) in Self.expectedTensors(config) {
            guard let tensor = tensors[hfName] else {
                throw ExportError("\(directory)/model.safetensors has no tensor \(hfName)")
            }
            guard tensor.shape == shape else {
                throw ExportError("\(hfName) has shape \(tensor.shape); config.json implies \(shape)")
            }
            guard let ggufName = LlamaGGUF.ggufName(huggingFace: hfName) else {
                throw ExportError("no GGUF name for \(hfName)")
            }
            used.insert(hfName)
            var values = tensor.storage
            if ggufName.hasSuffix(".attn_q.weight") || ggufName.hasSuffix(".attn_k.weight") {
                values = LlamaGGUF.permuteRotaryRows(
                    values, heads: shape[0] / config.headDim, headDim: config.headDim, columns: shape[1])
            }
            let dimensions = Array(shape.reversed())  // ggml order: the row (input) dimension first
            let storage = LlamaGGUF.storageType(
                ggufName: ggufName, rowLength: dimensions[0], export: type, fallback: fallback)
            do {
                try writer.addTensor(name: ggufName, dimensions: dimensions, type: storage, values: values)
            } catch {
                throw ExportError("\(hfName): \(error)")
            }
        }
        let ignorable = { (name: String) in
            name.hasSuffix("rotary_emb.inv_freq") || (name == "lm_head.weight" && config.tieWordEmbeddings)
        }
        if let extra = tensors.keys.sorted().first(where: { !used.contains($0) && !ignorable($0) }) {
            throw ExportError("\(directory)/model.safetensors has a tensor \(extra) that a llama GGUF has no place for")
        }
        try Self.reporting { try writer.write(to: path) }

        var byType: [String: (count: Int, bytes: Int)] = [:]
        for info in writer.tensors {
            let entry = byType[info.type.description] ?? (0, 0)
            byType[info.type.description] = (entry.count + 1, entry.bytes + (info.byteCount ?? 0))
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        return Summary(
            path: path, tensors: writer.tensors.count, fileBytes: size, preTokenizer: tokenizer.preTokenizer,
            byType: byType.sorted { $0.key < $1.key }.map {
                Summary.TypeShare(type: $0.key, tensors: $0.value.count, bytes: $0.value.bytes)
            })
    }

    /// Every tensor a llama GGUF holds, by Hugging Face name, with the shape `config` implies.
    static func expectedTensors(_ config: LlamaConfig) -> [(name: String, shape: [Int])] {
        let h = config.hiddenSize
        var list: [(String, [Int])] = [("model.embed_tokens.weight", [config.vocabSize, h])]
        for layer in 0..<config.numHiddenLayers {
            let p = "model.layers.\(layer)."
            list += [
                (p + "input_layernorm.weight", [h]),
                (p + "self_attn.q_proj.weight", [config.queryDim, h]),
                (p + "self_attn.k_proj.weight", [config.keyValueDim, h]),
                (p + "self_attn.v_proj.weight", [config.keyValueDim, h]),
                (p + "self_attn.o_proj.weight", [h, config.queryDim]),
                (p + "post_attention_layernorm.weight", [h]),
                (p + "mlp.gate_proj.weight", [config.intermediateSize, h]),
                (p + "mlp.up_proj.weight", [config.intermediateSize, h]),
                (p + "mlp.down_proj.weight", [h, config.intermediateSize]),
            ]
        }
        list.append(("model.norm.weight", [h]))
        if !config.tieWordEmbeddings { list.append(("lm_head.weight", [config.vocabSize, h])) }
        return list
    }

    /// llama.cpp's `gpt2`-model tokenizer metadata for a byte-level BPE tokenizer; ids the tokenizer
    /// does not use (the model's vocabulary may be padded) become unused `[PADn]` tokens.
    func ggufTokenizer(_ bpe: BPETokenizer, config: LlamaConfig, path: String) throws -> LlamaGGUF.Tokenizer {
        let n = config.vocabSize
        guard bpe.vocabSize <= n else {
            throw ExportError("\(path) has \(bpe.vocabSize) tokens; the model's vocabulary holds only \(n)")
        }
        var tokens = (0..<n).map { "[PAD\($0)]" }
        var types = [Int32](repeating: LlamaGGUF.TokenType.unused, count: n)
        for id in 0..<bpe.vocabSize {
            guard let token = bpe.token(for: Int32(id)) else { continue }
            tokens[id] = token
            types[id] = LlamaGGUF.TokenType.normal
        }
        for added in bpe.addedTokens {
            types[Int(added.id)] = added.special ? LlamaGGUF.TokenType.control : LlamaGGUF.TokenType.normal
        }
        let pre = preTokenizer ?? Self.llamaCppName(bpe.preTokenizer.pattern)
        let bos = config.bosTokenId ?? bpe.bosID.map(Int.init) ?? bpe.id(ofAddedToken: "<s>").map(Int.init)
        let eos = config.eosTokenId ?? bpe.eosID.map(Int.init) ?? bpe.id(ofAddedToken: "</s>").map(Int.init)
        let pad = (bpe.padID ?? bpe.id(ofAddedToken: "<pad>")).map(Int.init)
        return LlamaGGUF.Tokenizer(
            tokens: tokens, tokenTypes: types, merges: bpe.merges.map { $0.left + " " + $0.right }, bosID: bos,
            eosID: eos, padID: pad, preTokenizer: pre, addBOS: bos != nil)
    }

    /// llama.cpp's name for a splitting rule (`tokenizer.ggml.pre`): Llama 3's regex with single
    /// digits is its `qwen2`, Llama 3's own `llama-bpe`, GPT-2's `gpt-2`.
    static func llamaCppName(_ pattern: PreTokenizer.Pattern) -> String {
        switch pattern {
        case .llama3SingleDigits: "qwen2"
        case .llama3: "llama-bpe"
        case .gpt2: "gpt-2"
        }
    }

    /// Runs `body`, turning a library error into an ``ExportError`` with its message.
    static func reporting<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as ExportError { throw error } catch {
            throw ExportError("\(error)")
        }
    }
}

/// Why a model could not be exported: what is wrong and what to do.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    /// The message shown to the user.
    public var description: String

    /// An error with its message.
    public init(_ description: String) { self.description = description }
}
