import ArgumentParser
import Foundation
import QuorumModel
import QuorumQuant
import QuorumServing
import QuorumTensor
import QuorumTokenizer
import QuorumTraining
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
    @Option(help: "The serving format: \(ServingFormat.names).") var format: String
    @Option(help: "The folder to write.") var out: String
    @Flag(help: "Print the record as JSON.") var json = false

    func validate() throws {
        guard ServingFormat(rawValue: format) != nil else {
            throw ValidationError("unknown format \"\(format)\": use one of \(ServingFormat.names)")
        }
        let source = URL(fileURLWithPath: model).standardizedFileURL.path
        let target = URL(fileURLWithPath: out).standardizedFileURL.path
        guard source != target else { throw ValidationError("--out must differ from --model") }
    }

    func run() async throws {
        let options = self
        let record = try await runOnDedicatedThread { () throws -> QuantizationRecord in
            try options.quantize()
        }
        if json {
            try printJSON(record)
        } else {
            print(
                "wrote \(out): \(record.format), block linear weights \(record.linearBytes) bytes "
                    + String(
                        format: "(%.2f bits/weight; fp32 %d bytes), relative weight error %.4f", record.bitsPerWeight,
                        record.fp32LinearBytes, record.relativeWeightError))
        }
    }

    func quantize() throws -> QuantizationRecord {
        let start = ContinuousClock.now
        let format = ServingFormat(rawValue: self.format)!
        if try ServingWeights.quantization(directory: model) != nil {
            throw ValidationError("\(model) is already quantized; pass the fp32 model folder to --model")
        }
        let source = URL(fileURLWithPath: model)
        let tokenizerURL = source.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw ValidationError("\(model) has no tokenizer.json; a quantized folder carries the model's tokenizer")
        }
        let fp32: LlamaModel<Float>
        do { fp32 = try LlamaModel<Float>.load(directory: model) } catch {
            throw ValidationError("cannot load the model in \(model): \(error)")
        }
        if format == .a48 && fp32.config.hiddenAct != .reluSquaredGLU {
            FileHandle.standardError.write(
                Data(
                    ("warning: a4.8 is defined for a ReLU²GLU FFN (hidden_act relu2); \(model) uses "
                        + "\(fp32.config.hiddenAct.rawValue), so the down projection's input is not sparse\n").utf8))
        }
        let weights = try ServingWeights(model: fp32, format: format)
        try weights.save(directory: out)
        let target = URL(fileURLWithPath: out)
        for file in ["tokenizer.json", Checkpoint.recordFile] {
            let from = source.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: from.path) else { continue }
            let to = target.appendingPathComponent(file)
            try? FileManager.default.removeItem(at: to)
            try FileManager.default.copyItem(at: from, to: to)
        }
        // How far the packed weights are from the fp32 ones: ‖W − Wq‖ / ‖W‖ over all block linear layers.
        var errorSquares = 0.0
        var normSquares = 0.0
        var weightsCount = 0
        for (name, matrix) in weights.packed {
            let original = fp32.tensor(named: name)!.storage
            for (w, q) in zip(original, matrix.dequantized()) {
                errorSquares += Double(w - q) * Double(w - q)
                normSquares += Double(w) * Double(w)
            }
            weightsCount += original.count
        }
        let duration = ContinuousClock.now - start
        let record = QuantizationRecord(
            source: model, format: format.rawValue, linearWeights: weightsCount, linearBytes: weights.linearBytes,
            fp32LinearBytes: 4 * weightsCount, bitsPerWeight: Double(8 * weights.linearBytes) / Double(weightsCount),
            relativeWeightError: (errorSquares / max(normSquares, 1e-30)).squareRoot(),
            seconds: Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18,
            created: ISO8601DateFormatter().string(from: Date()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(record).write(to: target.appendingPathComponent(QuantizationRecord.file))
        // The folder must load back.
        _ = try ServingModel.load(directory: out)
        return record
    }
}

/// `quantization_record.json`: where a quantized folder came from and what the packing cost.
struct QuantizationRecord: Codable, Sendable {
    static let file = "quantization_record.json"
    var source: String
    var format: String
    var linearWeights: Int
    var linearBytes: Int
    var fp32LinearBytes: Int
    var bitsPerWeight: Double
    var relativeWeightError: Double
    var seconds: Double
    var created: String

    enum CodingKeys: String, CodingKey {
        case source, format, linearWeights = "linear_weights", linearBytes = "linear_bytes"
        case fp32LinearBytes = "fp32_linear_bytes", bitsPerWeight = "bits_per_weight"
        case relativeWeightError = "relative_weight_error", seconds, created
    }
}
