import Foundation

/// The llama.cpp conventions for a Llama-architecture GGUF file: metadata keys, tensor names, the
/// rotary row order, a gpt2-style BPE tokenizer, and which tensors get which ggml type.
public enum LlamaGGUF {
    /// A Llama model's shape, as llama.cpp's `llama.*` keys describe it.
    public struct Hyperparameters: Sendable, Hashable {
        /// `general.name`.
        public var name: String
        /// `llama.context_length` (trained context; the model's position limit).
        public var contextLength: Int
        /// `llama.embedding_length` (hidden size).
        public var embeddingLength: Int
        /// `llama.block_count` (layers).
        public var blockCount: Int
        /// `llama.feed_forward_length` (SwiGLU inner size).
        public var feedForwardLength: Int
        /// `llama.attention.head_count`.
        public var headCount: Int
        /// `llama.attention.head_count_kv`.
        public var headCountKV: Int
        /// Per-head size (`llama.rope.dimension_count`, and `llama.attention.key_length`/`value_length`).
        public var headDim: Int
        /// `llama.rope.freq_base` (θ).
        public var ropeFreqBase: Double
        /// `llama.attention.layer_norm_rms_epsilon`.
        public var rmsEpsilon: Double
        /// `llama.vocab_size`.
        public var vocabSize: Int

        /// Makes a description.
        public init(
            name: String, contextLength: Int, embeddingLength: Int, blockCount: Int, feedForwardLength: Int,
            headCount: Int, headCountKV: Int, headDim: Int, ropeFreqBase: Double, rmsEpsilon: Double, vocabSize: Int
        ) {
            self.name = name
            self.contextLength = contextLength
            self.embeddingLength = embeddingLength
            self.blockCount = blockCount
            self.feedForwardLength = feedForwardLength
            self.headCount = headCount
            self.headCountKV = headCountKV
            self.headDim = headDim
            self.ropeFreqBase = ropeFreqBase
            self.rmsEpsilon = rmsEpsilon
            self.vocabSize = vocabSize
        }
    }

    /// A byte-level BPE tokenizer in llama.cpp's `gpt2` tokenizer model.
    public struct Tokenizer: Sendable, Hashable {
        /// Token strings by id (byte-level alphabet, as in `tokenizer.json`).
        public var tokens: [String]
        /// Token types by id: 1 normal, 3 control (special), 5 unused (padding ids).
        public var tokenTypes: [Int32]
        /// Merges in priority order, each `"left right"`.
        public var merges: [String]
        /// Beginning-of-sequence id.
        public var bosID: Int?
        /// End-of-sequence id.
        public var eosID: Int?
        /// Padding id.
        public var padID: Int?
        /// llama.cpp's pre-tokenizer name (`tokenizer.ggml.pre`), see ``preTokenizerName(splitPattern:)``.
        public var preTokenizer: String
        /// Whether llama.cpp should put BOS before a prompt.
        public var addBOS: Bool

        /// Makes a tokenizer description.
        public init(
            tokens: [String], tokenTypes: [Int32], merges: [String], bosID: Int?, eosID: Int?, padID: Int?,
            preTokenizer: String, addBOS: Bool
        ) {
            self.tokens = tokens
            self.tokenTypes = tokenTypes
            self.merges = merges
            self.bosID = bosID
            self.eosID = eosID
            self.padID = padID
            self.preTokenizer = preTokenizer
            self.addBOS = addBOS
        }
    }

    /// Token type ids (llama.cpp's `llama_token_type`).
    public enum TokenType {
        /// An ordinary vocabulary entry.
        public static let normal: Int32 = 1
        /// A special token that is never produced by splitting text.
        public static let control: Int32 = 3
        /// A filler id with no token.
        public static let unused: Int32 = 5
    }

    /// The tensor types an export asks for.
    public enum ExportType: String, Sendable, CaseIterable {
        /// Everything in fp32.
        case f32
        /// Block linears in Q8_0.
        case q8_0
        /// Block linears in Q4_0.
        case q4_0
        /// Block linears in TQ2_0 (ternary).
        case tq2_0

        /// The ggml type of the quantized linears.
        public var linearType: GGMLType {
            switch self {
            case .f32: .f32
            case .q8_0: .q8_0
            case .q4_0: .q4_0
            case .tq2_0: .tq2_0
            }
        }

        /// `general.file_type` (llama.cpp's `llama_ftype`: the type of most weights).
        public var fileType: UInt32 {
            switch self {
            case .f32: 0
            case .q8_0: 7
            case .q4_0: 2
            case .tq2_0: 37
            }
        }
    }

    /// The type a tensor is stored as. Only the linear layers inside transformer blocks are
    /// quantized, and only when their row (input) length is a multiple of the block size; a block
    /// linear whose rows do not fit stays `fallback` (F16 by default; F16 too if the fallback's
    /// blocks do not fit either). Embeddings, the LM head and norms stay F32.
    public static func storageType(
        ggufName: String, rowLength: Int, export: ExportType, fallback: GGMLType = .f16
    ) -> GGMLType {
        guard export != .f32, isBlockLinear(ggufName) else { return .f32 }
        if rowLength % export.linearType.blockSize == 0 { return export.linearType }
        return rowLength % fallback.blockSize == 0 ? fallback : .f16
    }

    /// Whether `ggufName` is a linear layer inside a transformer block.
    public static func isBlockLinear(_ ggufName: String) -> Bool {
        let linears = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
        let parts = ggufName.split(separator: ".")
        return parts.count == 4 && parts[0] == "blk" && parts[3] == "weight" && linears.contains(String(parts[2]))
    }

    /// llama.cpp's name for a Hugging Face Llama tensor, or nil if the tensor has no place in the file
    /// (for example rotary caches).
    public static func ggufName(huggingFace name: String) -> String? {
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        let parts = name.split(separator: ".").map(String.init)
        guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
            parts.last == "weight"
        else { return nil }
        let suffixes: [String: String] = [
            "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
            "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
            "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
            "mlp.down_proj": "ffn_down",
        ]
        let module = parts[3..<(parts.count - 1)].joined(separator: ".")
        guard let short = suffixes[module] else { return nil }
        return "blk.\(layer).\(short).weight"
    }

    /// Reorders the rows of a query or key projection (`[heads·headDim, columns]`, row-major) from
    /// Hugging Face's rotary layout to llama.cpp's.
    ///
    /// Hugging Face rotates the pair (i, i + headDim/2) of each head ("rotate half"); llama.cpp's
    /// `llama` architecture uses ggml's normal RoPE, which rotates adjacent pairs (2i, 2i + 1). Moving
    /// row i of each head to 2i and row i + headDim/2 to 2i + 1 makes the two compute the same
    /// attention scores (q·k is unchanged by a common permutation of q's and k's components).
    public static func permuteRotaryRows(_ values: [Float], heads: Int, headDim: Int, columns: Int) -> [Float] {
        precondition(values.count == heads * headDim * columns && headDim % 2 == 0)
        var out = [Float](repeating: 0, count: values.count)
        let half = headDim / 2
        for h in 0..<heads {
            for i in 0..<headDim {
                let source = h * headDim + i
                let target = h * headDim + (i < half ? 2 * i : 2 * (i - half) + 1)
                out.replaceSubrange(
                    (target * columns)..<((target + 1) * columns),
                    with: values[(source * columns)..<((source + 1) * columns)])
            }
        }
        return out
    }

    /// llama.cpp's pre-tokenizer name for a `Split` regex from `tokenizer.json`, or nil when llama.cpp
    /// has no identical one.
    ///
    /// `qwen2` is Llama 3's pattern with single digits (`\p{N}`), `llama-bpe` is Llama 3's own
    /// (`\p{N}{1,3}`). Hugging Face's case-insensitive contraction group `(?i:'s|'t|…)` is written
    /// as `(?:'[sS]|'[tT]|…)` in llama.cpp; the two agree except on non-ASCII case folds (such as
    /// `'ſ`), which never occur in Quorum's ASCII problems.
    public static func preTokenizerName(splitPattern: String) -> String? {
        let contractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
        let pattern = splitPattern.replacingOccurrences(
            of: "(?i:'s|'t|'re|'ve|'m|'ll|'d)", with: contractions)
        let rest = #"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"#
        let tail = #"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        switch pattern {
        case contractions + rest + tail: return "qwen2"
        case contractions + rest + "{1,3}" + tail: return "llama-bpe"
        default: return nil
        }
    }

    /// All metadata for a llama-architecture file, in a stable order.
    public static func metadata(
        model: Hyperparameters, tokenizer: Tokenizer, export: ExportType
    ) -> [(key: String, value: GGUFValue)] {
        var entries: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("general.name", .string(model.name)),
            ("general.file_type", .uint32(export.fileType)),
            ("general.quantization_version", .uint32(2)),
            ("llama.context_length", .uint32(UInt32(model.contextLength))),
            ("llama.embedding_length", .uint32(UInt32(model.embeddingLength))),
            ("llama.block_count", .uint32(UInt32(model.blockCount))),
            ("llama.feed_forward_length", .uint32(UInt32(model.feedForwardLength))),
            ("llama.attention.head_count", .uint32(UInt32(model.headCount))),
            ("llama.attention.head_count_kv", .uint32(UInt32(model.headCountKV))),
            ("llama.attention.key_length", .uint32(UInt32(model.headDim))),
            ("llama.attention.value_length", .uint32(UInt32(model.headDim))),
            ("llama.rope.dimension_count", .uint32(UInt32(model.headDim))),
            ("llama.rope.freq_base", .float32(Float(model.ropeFreqBase))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(Float(model.rmsEpsilon))),
            ("llama.vocab_size", .uint32(UInt32(model.vocabSize))),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(tokenizer.preTokenizer)),
            ("tokenizer.ggml.tokens", .strings(tokenizer.tokens)),
            ("tokenizer.ggml.token_type", .int32s(tokenizer.tokenTypes)),
            ("tokenizer.ggml.merges", .strings(tokenizer.merges)),
        ]
        if let id = tokenizer.bosID { entries.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(id)))) }
        if let id = tokenizer.eosID { entries.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(id)))) }
        if let id = tokenizer.padID { entries.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(id)))) }
        entries.append(("tokenizer.ggml.add_bos_token", .bool(tokenizer.addBOS)))
        entries.append(("tokenizer.ggml.add_eos_token", .bool(false)))
        return entries
    }
}
