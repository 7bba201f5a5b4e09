import ArgumentParser
import Foundation
import GGUF
import QuorumModel
import QuorumTensor

/// `quorum export …`: write a trained model in formats other runtimes load.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a model for other runtimes (GGUF for llama.cpp).",
        subcommands: [GGUFExport.self, GGUFInspect.self])
}

/// `--type` as typed on the command line.
enum GGUFExportTypeArgument: String, ExpressibleByArgument, CaseIterable {
    case f32, q8_0, q4_0, tq2_0

    var exportType: LlamaGGUF.ExportType { LlamaGGUF.ExportType(rawValue: rawValue)! }
}

/// `--fallback` as typed on the command line.
enum GGUFFallbackArgument: String, ExpressibleByArgument, CaseIterable {
    case f16, f32, q8_0, q4_0

    var type: GGMLType {
        switch self {
        case .f16: .f16
        case .f32: .f32
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        }
    }
}

/// A command-line failure: what is wrong and what to do.
struct ExportError: Error, CustomStringConvertible {
    /// The message shown to the user.
    var description: String
}

/// `quorum export gguf`: a Hugging Face-layout SwiGLU Llama folder to a llama.cpp GGUF file.
struct GGUFExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf",
        abstract: "Write a SwiGLU Llama model folder as a llama.cpp GGUF file (architecture `llama`).",
        discussion: """
            Reads DIR/config.json, DIR/model.safetensors and DIR/tokenizer.json. With --type q8_0, q4_0 or \
            tq2_0 the linear layers inside transformer blocks are quantized with ggml's reference \
            quantizers when their rows (input size) are a multiple of the block (32, 32, 256); those whose \
            rows are not stay in the --fallback type. Embeddings, the LM head and norms stay F32. \
            Query and key rows are reordered for llama.cpp's adjacent-pair RoPE.
            """)

    @Option(help: "The model folder (config.json, model.safetensors, tokenizer.json).") var model: String
    @Option(help: "Type of the block linear layers: f32, q8_0, q4_0 or tq2_0.") var type: GGUFExportTypeArgument
    @Option(help: "The GGUF file to write.") var out: String
    @Option(
        help: """
            Type of block linears whose rows do not fit the --type block: f16, f32, or q8_0/q4_0 where \
            their 32-element blocks fit (llama.cpp's own quantizer falls back to q4_0 for tq2_0).
            """)
    var fallback: GGUFFallbackArgument = .f16
    @Option(help: "llama.cpp pre-tokenizer name (default: detected from tokenizer.json).") var pre: String?
    @Option(help: "general.name (default: the folder's name).") var name: String?

    func run() throws {
        let type = self.type.exportType
        let fallbackType = fallback.type
        let directory = URL(fileURLWithPath: model)
        let config: LlamaConfig
        do {
            config = try LlamaConfig.load(path: directory.appendingPathComponent("config.json").path)
            try config.validate()
        } catch {
            throw ExportError(description: "\(error)")
        }
        guard config.hiddenAct == .swiGLU else {
            throw ExportError(
                description: """
                    \(model) uses a \(config.hiddenAct.rawValue) (ReLU²GLU) feed-forward; llama.cpp's `llama` \
                    architecture computes SwiGLU (silu), so its output would be wrong. Only SwiGLU models can be \
                    exported to GGUF.
                    """)
        }
        let tokenizer = try GGUFTokenizerLoader.load(
            path: directory.appendingPathComponent("tokenizer.json").path, config: config, preOverride: pre)
        let tensors: [String: Tensor<Float>]
        do {
            tensors = try LlamaModel<Float>.readTensors(
                path: directory.appendingPathComponent("model.safetensors").path)
        } catch {
            throw ExportError(description: "\(error)")
        }
        let hyper = LlamaGGUF.Hyperparameters(
            name: name ?? directory.lastPathComponent, contextLength: config.maxPositionEmbeddings,
            embeddingLength: config.hiddenSize, blockCount: config.numHiddenLayers,
            feedForwardLength: config.intermediateSize, headCount: config.numAttentionHeads,
            headCountKV: config.numKeyValueHeads, headDim: config.headDim, ropeFreqBase: config.ropeTheta,
            rmsEpsilon: config.rmsNormEps, vocabSize: config.vocabSize)

        var writer = GGUFWriter()
        for (key, value) in LlamaGGUF.metadata(model: hyper, tokenizer: tokenizer, export: type) {
            writer.set(key, value)
        }
        var used = Set<String>()
        func add(_ hfName: String, shape: [Int]) throws {
            guard let tensor = tensors[hfName] else {
                throw ExportError(description: "\(model)/model.safetensors has no tensor \(hfName)")
            }
            guard tensor.shape == shape else {
                throw ExportError(description: "\(hfName) has shape \(tensor.shape); config.json implies \(shape)")
            }
            guard let ggufName = LlamaGGUF.ggufName(huggingFace: hfName) else {
                throw ExportError(description: "no GGUF name for \(hfName)")
            }
            used.insert(hfName)
            var values = tensor.storage
            if ggufName.hasSuffix(".attn_q.weight") || ggufName.hasSuffix(".attn_k.weight") {
                values = LlamaGGUF.permuteRotaryRows(
                    values, heads: shape[0] / config.headDim, headDim: config.headDim, columns: shape[1])
            }
            let dimensions = Array(shape.reversed())  // ggml order: the row (input) dimension first
            let storage = LlamaGGUF.storageType(
                ggufName: ggufName, rowLength: dimensions[0], export: type, fallback: fallbackType)
            do {
                try writer.addTensor(name: ggufName, dimensions: dimensions, type: storage, values: values)
            } catch {
                throw ExportError(description: "\(hfName): \(error)")
            }
        }
        let h = config.hiddenSize
        try add("model.embed_tokens.weight", shape: [config.vocabSize, h])
        for layer in 0..<config.numHiddenLayers {
            let p = "model.layers.\(layer)."
            try add(p + "input_layernorm.weight", shape: [h])
            try add(p + "self_attn.q_proj.weight", shape: [config.queryDim, h])
            try add(p + "self_attn.k_proj.weight", shape: [config.keyValueDim, h])
            try add(p + "self_attn.v_proj.weight", shape: [config.keyValueDim, h])
            try add(p + "self_attn.o_proj.weight", shape: [h, config.queryDim])
            try add(p + "post_attention_layernorm.weight", shape: [h])
            try add(p + "mlp.gate_proj.weight", shape: [config.intermediateSize, h])
            try add(p + "mlp.up_proj.weight", shape: [config.intermediateSize, h])
            try add(p + "mlp.down_proj.weight", shape: [h, config.intermediateSize])
        }
        try add("model.norm.weight", shape: [h])
        if !config.tieWordEmbeddings { try add("lm_head.weight", shape: [config.vocabSize, h]) }
        let ignorable = { (name: String) in
            name.hasSuffix("rotary_emb.inv_freq") || (name == "lm_head.weight" && config.tieWordEmbeddings)
        }
        if let extra = tensors.keys.sorted().first(where: { !used.contains($0) && !ignorable($0) }) {
            throw ExportError(
                description: "\(model)/model.safetensors has a tensor \(extra) that a llama GGUF has no place for")
        }
        do {
            try writer.write(to: out)
        } catch {
            throw ExportError(description: "\(error)")
        }
        var byType: [String: (count: Int, bytes: Int)] = [:]
        for info in writer.tensors {
            let entry = byType[info.type.description] ?? (0, 0)
            byType[info.type.description] = (entry.count + 1, entry.bytes + (info.byteCount ?? 0))
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print("wrote \(out): \(writer.tensors.count) tensors, \(size) bytes, pre-tokenizer \(tokenizer.preTokenizer)")
        for (typeName, entry) in byType.sorted(by: { $0.key < $1.key }) {
            print("  \(typeName): \(entry.count) tensors, \(entry.bytes) bytes")
        }
    }
}

/// `quorum export inspect`: print a GGUF file's metadata and tensor table.
struct GGUFInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a GGUF file's metadata and tensors.")

    @Argument(help: "The GGUF file.") var file: String

    func run() throws {
        let reader: GGUFReader
        do {
            reader = try GGUFReader(path: file)
        } catch {
            throw ExportError(description: "\(file): \(error)")
        }
        print("GGUF v\(reader.version), \(reader.metadata.count) metadata entries, \(reader.tensors.count) tensors")
        for (key, value) in reader.metadata { print("  \(key) = \(Self.describe(value))") }
        for info in reader.tensors {
            print("  \(info.name) \(info.type) \(info.dimensions) at \(info.offset)")
        }
    }

    static func describe(_ value: GGUFValue) -> String {
        switch value {
        case .string(let s): return "\"\(s)\""
        case .array(let type, let values):
            let head = values.prefix(5).map(describe).joined(separator: ", ")
            return "[\(values.count) × \(type)] [\(head)\(values.count > 5 ? ", …" : "")]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return value.integer.map { "\($0)" } ?? "\(value)"
        }
    }
}

/// Turns a Hugging Face byte-level BPE `tokenizer.json` into llama.cpp's `gpt2` tokenizer metadata.
enum GGUFTokenizerLoader {
    static func load(path: String, config: LlamaConfig, preOverride: String?) throws -> LlamaGGUF.Tokenizer {
        guard let data = FileManager.default.contents(atPath: path),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let model = json["model"] as? [String: Any]
        else { throw ExportError(description: "cannot read \(path) as a Hugging Face tokenizer.json") }
        guard model["type"] as? String == "BPE", let vocab = model["vocab"] as? [String: Int] else {
            throw ExportError(description: "\(path): only byte-level BPE tokenizers can be exported (model.type BPE)")
        }
        var merges: [String] = []
        for entry in model["merges"] as? [Any] ?? [] {
            if let text = entry as? String {
                merges.append(text)
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append(pair[0] + " " + pair[1])
            } else {
                throw ExportError(description: "\(path): a merge is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        let n = config.vocabSize
        var tokens = (0..<n).map { "[PAD\($0)]" }
        var types = [Int32](repeating: LlamaGGUF.TokenType.unused, count: n)
        var seen = Set<Int>()
        func place(_ token: String, _ id: Int, _ type: Int32) throws {
            guard id >= 0, id < n else {
                throw ExportError(
                    description: "\(path): token \(token) has id \(id) outside the model's vocabulary of \(n)")
            }
            tokens[id] = token
            types[id] = type
            seen.insert(id)
        }
        for (token, id) in vocab { try place(token, id, LlamaGGUF.TokenType.normal) }
        var specials: [String: Int] = [:]
        for case let added as [String: Any] in json["added_tokens"] as? [Any] ?? [] {
            guard let id = added["id"] as? Int, let content = added["content"] as? String else { continue }
            let special = added["special"] as? Bool ?? true
            try place(content, id, special ? LlamaGGUF.TokenType.control : LlamaGGUF.TokenType.normal)
            specials[content] = id
        }
        let pre: String
        if let preOverride {
            pre = preOverride
        } else {
            let splitPattern = findSplitPattern(json["pre_tokenizer"])
            guard let pattern = splitPattern, let name = LlamaGGUF.preTokenizerName(splitPattern: pattern) else {
                throw ExportError(
                    description: """
                        \(path): its pre-tokenizer (\(splitPattern ?? "no Split regex")) matches none that \
                        llama.cpp knows (qwen2, llama-bpe); pass --pre NAME to choose one knowingly.
                        """)
            }
            pre = name
        }
        let bos = config.bosTokenId ?? specials["<|bos|>"] ?? specials["<s>"]
        let eos = config.eosTokenId ?? specials["<|eos|>"] ?? specials["</s>"]
        let pad = specials["<|pad|>"] ?? specials["<pad>"]
        return LlamaGGUF.Tokenizer(
            tokens: tokens, tokenTypes: types, merges: merges, bosID: bos, eosID: eos, padID: pad, preTokenizer: pre,
            addBOS: bos != nil)
    }

    /// The first `Split` pre-tokenizer's regex, searching inside `Sequence`s.
    static func findSplitPattern(_ node: Any?) -> String? {
        guard let node = node as? [String: Any] else { return nil }
        if node["type"] as? String == "Split", let pattern = node["pattern"] as? [String: Any] {
            return pattern["Regex"] as? String
        }
        for case let child in node["pretokenizers"] as? [Any] ?? [] {
            if let found = findSplitPattern(child) { return found }
        }
        return nil
    }
}
