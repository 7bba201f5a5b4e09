internal import Foundation
internal import SafeTensors

/// Converts between Hugging Face safetensors and `.nzck` checkpoints. Errors are `NeuZipError`s, or
/// `SafeTensorsError`s for problems on the safetensors side (unreadable input, unwritable output).
///
/// Metadata keys: a safetensors `__metadata__` entry `K` travels as `safetensors:K`; a text file `F`
/// found beside the weights in an input folder (config.json, tokenizer.json, …) travels as `file:F`.
public enum CompressedCheckpoint {
    /// Prefix of metadata keys that hold a safetensors `__metadata__` entry.
    public static let safetensorsMetadataPrefix = "safetensors:"
    /// Prefix of metadata keys that hold a companion text file.
    public static let filePrefix = "file:"
    /// Companion files larger than this are not carried along.
    public static let maximumCompanionFileSize = 64 << 20

    /// Compresses `input` — one `.safetensors` file, or a folder of shards plus text files such as
    /// config.json — into the checkpoint `output`. `progress` is called after each tensor with
    /// (record, tensors done, tensors in all). Returns the table entries.
    @discardableResult
    public static func compress(
        input: String, output: String, mode: CompressionMode,
        elementsPerChunk: Int = CheckpointWriter.defaultElementsPerChunk, threads: Int = 0,
        metadata extra: [String: String] = [:], progress: (TensorRecord, Int, Int) -> Void = { _, _, _ in }
    ) throws -> [TensorRecord] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else {
            throw NeuZipError(.io, "\(input) does not exist; pass a .safetensors file or a model folder")
        }
        var shards: [String] = []
        var metadata = extra
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: input).sorted()
            for name in names where !name.hasPrefix(".") {
                let path = (input as NSString).appendingPathComponent(name)
                if name.hasSuffix(".safetensors") {
                    shards.append(path)
                } else if let text = companionText(path) {
                    metadata[filePrefix + name] = text
                }
            }
            guard !shards.isEmpty else {
                throw NeuZipError(
                    .invalidArgument, "\(input) holds no .safetensors file; pass a folder with model weights")
            }
        } else {
            shards = [input]
        }
        let files = try shards.map { try SafeTensorsFile(path: $0) }
        for file in files {
            for (key, value) in file.metadata { metadata[safetensorsMetadataPrefix + key] = value }
        }
        let writer = try CheckpointWriter(path: output)
        writer.elementsPerChunk = elementsPerChunk
        writer.threads = threads
        writer.metadata = metadata
        let total = files.reduce(0) { $0 + $1.tensors.count }
        var done = 0
        for file in files {
            for tensor in file.tensors {
                let bytes = try file.read(tensor)
                let record = try writer.add(
                    name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, bytes: bytes, mode: mode)
                done += 1
                progress(record, done, total)
            }
        }
        try writer.finish()
        return writer.records
    }

    /// Decompresses the checkpoint `input` into one safetensors file `output` (tensors sorted by name,
    /// safetensors metadata restored), after checking the whole-file SHA-256. With `extractFiles`,
    /// companion files are written beside `output`. `progress` gets (tensors done, tensors in all).
    public static func decompress(
        input: String, output: String, extractFiles: Bool = false, threads: Int = 0,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws {
        let reader = try CheckpointReader(path: input)
        try reader.verifyDigest()
        var safetensorsMetadata: [String: String] = [:]
        for (key, value) in reader.metadata where key.hasPrefix(safetensorsMetadataPrefix) {
            safetensorsMetadata[String(key.dropFirst(safetensorsMetadataPrefix.count))] = value
        }
        let header = try SafeTensorsHeader.layout(
            reader.tensors.map { ($0.name, $0.dtype, $0.shape) }, metadata: safetensorsMetadata)
        let writer = try SafeTensorsWriter(path: output, header: header)
        for (i, info) in header.tensors.enumerated() {
            try writer.append(try reader.read(info.name, threads: threads).bytes)
            progress(i + 1, header.tensors.count)
        }
        try writer.finish()
        if extractFiles {
            let folder = (output as NSString).deletingLastPathComponent
            for (key, value) in reader.metadata where key.hasPrefix(filePrefix) {
                let name = (String(key.dropFirst(filePrefix.count)) as NSString).lastPathComponent
                guard !name.isEmpty, name != ".", name != ".." else { continue }
                let path = ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(name)
                guard FileManager.default.createFile(atPath: path, contents: Data(value.utf8)) else {
                    throw NeuZipError(.io, "cannot write \(path); check that the folder is writable")
                }
            }
        }
    }

    /// The contents of a small UTF-8 text file, or nil for anything else.
    private static func companionText(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            (attributes[.type] as? FileAttributeType) == .typeRegular,
            let size = attributes[.size] as? Int, size <= maximumCompanionFileSize,
            let data = FileManager.default.contents(atPath: path)
        else { return nil }
        return String(data: data, encoding: .utf8)
    }
}
