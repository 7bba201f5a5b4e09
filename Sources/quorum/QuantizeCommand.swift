import ArgumentParser
import Foundation
import QuorumServing
import QuorumCore

/// `quorum quantize`: writes a model folder whose block linear layers are packed in a serving format.
struct QuantizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a trained fp32 model folder to a serving format (a loadable quantized folder).",
        discussion: """
            Only the linear layers inside the transformer blocks are quantized (q/k/v/o, gate/up/down); the \
            embedding, norms and LM head stay fp32. The output folder holds config.json with a "quorum_quantization" \
            section, model.safetensors with the packed tensors, tokenizer.json, the source's \
            training_record.json (when it has one) and quantization_record.json. `quorum eval --model OUT` \
            and the serving model load it directly.
            """)

    @Option(help: "The fp32 model folder (config.json, model.safetensors, tokenizer.json).") var model: String
    @Option(help: "The serving format: \(ServingFormat.names).") var format: ServingFormat
    @Option(help: "The folder to write.") var out: String
    @Flag(help: "Print the record as JSON.") var json = false

    func validate() throws {
        let source = URL(fileURLWithPath: model).standardizedFileURL.path
        let target = URL(fileURLWithPath: out).standardizedFileURL.path
        guard source != target else { throw ValidationError("--out must differ from --model") }
    }

    func run() async throws {
        let (model, format, out) = (model, format, out)
        let record = try await runOnDedicatedThread {
            try QuantizationRecord.quantize(model: model, format: format, out: out) { log("warning: " + $0) }
        }
        if json { try printJSON(record) } else { print("wrote \(out): " + record.line) }
    }
}
