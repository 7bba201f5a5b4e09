import Foundation
import QuorumModel
import QuorumTraining
import QuorumTensor
import QuorumQuant

/// `quantization_record.json`: where a quantized folder came from and what the packing cost.
public struct QuantizationRecord: Codable, Sendable {
    /// The record's file name in a quantized folder.
    public static let file = "quantization_record.json"
    public var source: String
    public var format: String
    public var linearWeights: Int
    public var linearBytes: Int
    public var fp32LinearBytes: Int
    public var bitsPerWeight: Double
    public var relativeWeightError: Double
    public var seconds: Double
    public var created: String

    enum CodingKeys: String, CodingKey {
        case source, format, linearWeights = "linear_weights", linearBytes = "linear_bytes"
        case fp32LinearBytes = "fp32_linear_bytes", bitsPerWeight = "bits_per_weight"
        case relativeWeightError = "relative_weight_error", seconds, created
    }

    /// The record in one line.
    public var line: String {
        "\(format), block linear weights \(linearBytes) bytes "
            + String(
                format: "(%.2f bits/weight; fp32 %d bytes), relative weight error %.4f", bitsPerWeight,
                fp32LinearBytes, relativeWeightError)
    }

    /// Writes a folder whose block linear layers (q/k/v/o, gate/up/down) are packed in `format`:
    /// config.json with a `quorum_quantization` section, the packed model.safetensors, the source's
    /// tokenizer.json and training record, and this record. The embedding, norms and LM head stay fp32.
    /// The folder is loaded back before returning.
    ///
    /// - Parameter warn: called with a sentence when the format does not suit the model.
    /// - Throws: ``ServingError`` when the source is already quantized, lacks a tokenizer or cannot be loaded.
    public static func quantize(
        model: String, format: ServingFormat, out: String, warn: (String) -> Void = { _ in }
    ) throws -> QuantizationRecord {
        let start = ContinuousClock.now
        if try ServingWeights.quantization(directory: model) != nil {
            throw ServingError("\(model) is already quantized; pass the fp32 model folder to --model")
        }
        let source = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent(Checkpoint.tokenizerFile).path) else {
            throw ServingError("\(model) has no tokenizer.json; a quantized folder carries the model's tokenizer")
        }
        let fp32: LlamaModel<Float>
        do { fp32 = try LlamaModel<Float>.load(directory: model) } catch {
            throw ServingError("cannot load the model in \(model): \(error)")
        }
        if format == .a48 && fp32.config.hiddenAct != .reluSquaredGLU {
            warn(
                "a4.8 is defined for a ReLU²GLU FFN (hidden_act relu2); \(model) uses \(fp32.config.hiddenAct.rawValue), "
                    + "so the down projection's input is not sparse")
        }
        let weights = try ServingWeights(model: fp32, format: format)
        try weights.save(directory: out)
        let target = URL(fileURLWithPath: out)
        for file in [Checkpoint.tokenizerFile, Checkpoint.recordFile] {
            let from = source.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: from.path) else { continue }
            let to = target.appendingPathComponent(file)
            try? FileManager.default.removeItem(at: to)
            try FileManager.default.copyItem(at: from, to: to)
        }
        // How far the packed weights are from the fp32 ones: ‖W − Wq‖ / ‖W‖ over all block linear layers.
        var (errorSquares, normSquares, weightsCount) = (0.0, 0.0, 0)
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
        try encoder.encode(record).write(to: target.appendingPathComponent(file))
        _ = try ServingModel.load(directory: out)  // the folder must load back
        return record
    }
}
