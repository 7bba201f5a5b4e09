import ArgumentParser
import GGUF
import QuorumExport

/// `quorum export …`: write a trained model in formats other runtimes load.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a model for other runtimes (GGUF for llama.cpp).",
        subcommands: [GGUFExportCommand.self, GGUFInspectCommand.self])
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

/// `quorum export gguf`: a Hugging Face-layout SwiGLU Llama folder to a llama.cpp GGUF file.
struct GGUFExportCommand: ParsableCommand {
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
    @Option(help: "Type of the block linear layers: f32, q8_0, q4_0 or tq2_0.") var type: LlamaGGUF.ExportType
    @Option(help: "The GGUF file to write.") var out: String
    @Option(
        help: """
            Type of block linears whose rows do not fit the --type block: f16, f32, or q8_0/q4_0 where \
            their 32-element blocks fit (llama.cpp's own quantizer falls back to q4_0 for tq2_0).
            """)
    var fallback: GGUFFallbackArgument = .f16
    @Option(help: "llama.cpp pre-tokenizer name (default: from tokenizer.json's splitting rule).") var pre: String?
    @Option(help: "general.name (default: the folder's name).") var name: String?

    func run() throws {
        let export = LlamaGGUFExport(type: type, fallback: fallback.type, preTokenizer: pre, name: name)
        for line in try export.write(modelDirectory: model, to: out).lines { print(line) }
    }
}

/// `quorum export inspect`: print a GGUF file's metadata and tensor table.
struct GGUFInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Print a GGUF file's metadata and tensors.")

    @Argument(help: "The GGUF file.") var file: String

    func run() throws {
        let reader: GGUFReader
        do { reader = try GGUFReader(path: file) } catch { throw ExportError("\(file): \(error)") }
        for line in reader.listing { print(line) }
    }
}
