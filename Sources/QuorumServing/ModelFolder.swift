import Foundation
public import QuorumModel
public import QuorumTokenizer
public import QuorumTraining

/// A model folder loaded for generation: the one loader behind evaluation, sampling and workers.
///
/// A plain folder (`config.json`, `model.safetensors`, `tokenizer.json`, optionally
/// `training_record.json`) loads as the fp32 ``LlamaModel`` when no format is asked for, or as a
/// ``ServingModel`` quantized to the asked format; a folder that `quorum quantize` wrote loads in
/// its own packed format. ``format`` always says what really runs.
public struct ModelFolder {
    /// What generates: the fp32 model or the serving model.
    public var generator: any TokenGenerator
    /// The tokenizer the model was trained with.
    public var tokenizer: BPETokenizer
    /// The training run's record (prompt format, generator knobs), when the folder has one.
    public var record: TrainingRecord?
    /// The serving format that runs; nil for the plain fp32 ``LlamaModel``.
    public var format: ServingFormat?

    /// The prompt format recorded at training time.
    public var promptFormat: PromptFormat { record?.promptFormat ?? .standard }

    /// The name of what runs, for records: the serving format's name, or `fp32` for the plain model.
    public var formatName: String { format?.rawValue ?? "fp32" }

    /// Loads `directory`.
    ///
    /// - Parameters:
    ///   - format: nil: a plain folder as the fp32 ``LlamaModel``, a quantized one in its own
    ///     format. Otherwise the serving model in `format` (a model trained quantization-aware for
    ///     a ternary scheme is served in that scheme, see ``ServingFormat/forPipeline(requested:trained:)``).
    ///   - keyValues: the serving model's key/value cache precision.
    /// - Throws: ``ServingError`` or ``TrainingError`` saying which part is missing or unreadable.
    public static func load(directory: String, format: ServingFormat? = nil, keyValues: KVPrecision = .float16)
        throws -> ModelFolder
    {
        let section = try ServingWeights.quantization(directory: directory)
        if section == nil {
            return try serve(Checkpoint.load(directory: directory), format: format, keyValues: keyValues)
        }
        let serving = try ServingModel.load(directory: directory, format: format)
        serving.keyValuePrecision = keyValues
        let folder = URL(fileURLWithPath: directory)
        let tokenizerURL = folder.appendingPathComponent(Checkpoint.tokenizerFile)
        let tokenizer: BPETokenizer
        do { tokenizer = try BPETokenizer(tokenizerJSON: tokenizerURL) } catch {
            throw ServingError("cannot read \(tokenizerURL.path): \(error); the folder needs the model's tokenizer")
        }
        guard tokenizer.vocabSize <= serving.config.vocabSize else {
            throw ServingError(
                "\(tokenizerURL.path) has \(tokenizer.vocabSize) ids but the model only \(serving.config.vocabSize)")
        }
        var record: TrainingRecord?
        let recordURL = folder.appendingPathComponent(Checkpoint.recordFile)
        if FileManager.default.fileExists(atPath: recordURL.path) {
            do { record = try JSONDecoder().decode(TrainingRecord.self, from: Data(contentsOf: recordURL)) } catch {
                throw ServingError("\(recordURL.path) is not a training record this version reads: \(error)")
            }
        }
        return ModelFolder(generator: serving, tokenizer: tokenizer, record: record, format: serving.format)
    }

    /// Serves an already loaded fp32 checkpoint in `format` (nil: as it is).
    ///
    /// - Throws: ``ServingError`` when the model cannot be served in `format`.
    public static func serve(_ checkpoint: Checkpoint, format: ServingFormat?, keyValues: KVPrecision = .float16)
        throws -> ModelFolder
    {
        guard let format else {
            return ModelFolder(
                generator: checkpoint.model, tokenizer: checkpoint.tokenizer, record: checkpoint.record, format: nil)
        }
        let trained = try checkpoint.model.quantization.map { try ServingFormat.named($0.rawValue) }
        let served = try ServingFormat.forPipeline(requested: format, trained: trained)
        let serving = try ServingModel(model: checkpoint.model, format: served)
        serving.keyValuePrecision = keyValues
        return ModelFolder(
            generator: serving, tokenizer: checkpoint.tokenizer, record: checkpoint.record, format: served)
    }
}
