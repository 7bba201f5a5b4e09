import Foundation
public import QuorumModel
public import QuorumTensor
public import QuorumTokenizer

/// A trained model with everything needed to use it: weights, tokenizer and (for runs Quorum made)
/// the training record.
///
/// On disk, a checkpoint folder holds `config.json` and `model.safetensors` (Hugging Face's Llama
/// layout, via ``LlamaModel/save(directory:dtype:)``), `tokenizer.json` (Hugging Face's form) and
/// `training_record.json` (``TrainingRecord``).
///
/// - Important: the model is not thread-safe; use a checkpoint from one thread at a time.
public struct Checkpoint {
    /// The weights.
    public var model: LlamaModel<Float>
    /// The tokenizer the model was trained with.
    public var tokenizer: BPETokenizer
    /// The training run's record, when the folder has one.
    public var record: TrainingRecord?

    /// A checkpoint from its parts.
    public init(model: LlamaModel<Float>, tokenizer: BPETokenizer, record: TrainingRecord?) {
        self.model = model
        self.tokenizer = tokenizer
        self.record = record
    }

    /// File name of the tokenizer in a checkpoint folder.
    public static let tokenizerFile = "tokenizer.json"
    /// File name of the training record in a checkpoint folder.
    public static let recordFile = "training_record.json"

    /// The prompt format recorded at training time (the standard one for folders without a record).
    public var promptFormat: PromptFormat { record?.promptFormat ?? .standard }

    /// Writes the folder (created if needed; existing files of the same names are replaced).
    ///
    /// - Throws: ``TrainingError`` naming the file that could not be written.
    public func save(directory: String) throws(TrainingError) {
        do { try model.save(directory: directory) } catch {
            throw TrainingError("cannot write the model to \(directory): \(error); check the folder is writable")
        }
        let folder = URL(fileURLWithPath: directory)
        do { try tokenizer.tokenizerJSON().write(to: folder.appendingPathComponent(Self.tokenizerFile)) } catch {
            throw TrainingError("cannot write \(directory)/\(Self.tokenizerFile): \(error.localizedDescription)")
        }
        if let record {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            do { try encoder.encode(record).write(to: folder.appendingPathComponent(Self.recordFile)) } catch {
                throw TrainingError("cannot write \(directory)/\(Self.recordFile): \(error.localizedDescription)")
            }
        }
    }

    /// Reads a checkpoint folder.
    ///
    /// - Throws: ``TrainingError`` saying which part is missing or unreadable.
    public static func load(directory: String) throws(TrainingError) -> Checkpoint {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw TrainingError(
                "\(directory) is not a folder; pass the checkpoint folder that `quorum train sft --out` wrote")
        }
        let model: LlamaModel<Float>
        do { model = try LlamaModel<Float>.load(directory: directory) } catch {
            throw TrainingError("cannot load the model in \(directory): \(error)")
        }
        let folder = URL(fileURLWithPath: directory)
        let tokenizerURL = folder.appendingPathComponent(tokenizerFile)
        let tokenizer: BPETokenizer
        do { tokenizer = try BPETokenizer(tokenizerJSON: tokenizerURL) } catch {
            throw TrainingError(
                "cannot read \(tokenizerURL.path): \(error); the folder needs the tokenizer it was trained with")
        }
        guard tokenizer.vocabSize <= model.config.vocabSize else {
            throw TrainingError(
                "\(tokenizerURL.path) has \(tokenizer.vocabSize) ids but the model only \(model.config.vocabSize)")
        }
        var record: TrainingRecord?
        let recordURL = folder.appendingPathComponent(recordFile)
        if FileManager.default.fileExists(atPath: recordURL.path) {
            do { record = try JSONDecoder().decode(TrainingRecord.self, from: Data(contentsOf: recordURL)) } catch {
                throw TrainingError("\(recordURL.path) is not a training record this version reads: \(error)")
            }
        }
        return Checkpoint(model: model, tokenizer: tokenizer, record: record)
    }
}
