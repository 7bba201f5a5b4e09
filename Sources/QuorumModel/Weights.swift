import Foundation
public import QuorumTensor
public import SafeTensors
import QuorumCore

// Weights on disk as Hugging Face writes a Llama: `config.json` + `model.safetensors` with the
// tensor names of ``ParameterLayout`` (`model.layers.N.self_attn.q_proj.weight`, …).

extension LlamaConfig {
    /// Reads a Hugging Face `config.json`.
    public static func load(path: String) throws -> LlamaConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelError("cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(LlamaConfig.self, from: data)
        } catch {
            throw ModelError("\(path) is not a Llama config.json this model supports: \(error)")
        }
    }

    /// Writes the config as `config.json` (pretty, sorted keys).
    public func save(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}

extension LlamaModel {
    /// Loads `directory/config.json` and `directory/model.safetensors` (a Hugging Face Llama
    /// checkpoint, or one Quorum wrote).
    public static func load(directory: String) throws -> LlamaModel<T> {
        let config = try LlamaConfig.load(path: directory + "/config.json")
        let model = try LlamaModel<T>(config: config)
        try model.loadWeights(path: directory + "/model.safetensors")
        return model
    }

    /// Writes `directory/config.json` and `directory/model.safetensors` (creating the folder).
    public func save(directory: String, dtype: DType = .f32) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try config.save(path: directory + "/config.json")
        try saveWeights(path: directory + "/model.safetensors", dtype: dtype)
    }

    /// Reads every tensor of the layout from a safetensors file. F32, F64, F16 and BF16 are
    /// accepted; a tied model ignores a stored `lm_head.weight`; rotary `inv_freq` buffers are ignored.
    public func loadWeights(path: String) throws {
        defer { invalidateQuantizedWeights() }
        let file = try SafeTensorsFile(path: path)
        let expected = Set(layout.entries.map(\.name))
        for info in file.tensors where !expected.contains(info.name) {
            if info.name.hasSuffix("rotary_emb.inv_freq") || (info.name == "lm_head.weight" && config.tieWordEmbeddings)
            {
                continue
            }
            throw ModelError("\(path) has a tensor \"\(info.name)\" that this Llama config has no place for")
        }
        for entry in layout.entries {
            guard let info = file.header[entry.name] else {
                throw ModelError("\(path) lacks the tensor \"\(entry.name)\"")
            }
            guard info.shape == entry.shape else {
                throw ModelError("\(path): \"\(entry.name)\" has shape \(info.shape), the config needs \(entry.shape)")
            }
            let bytes = try file.read(info)
            let values = try Self.decode(bytes, dtype: info.dtype, name: entry.name)
            values.withUnsafeBufferPointer {
                (parameters.pointer + entry.offset).update(from: $0.baseAddress!, count: entry.count)
            }
        }
    }

    /// Writes every tensor (names sorted, as Hugging Face does) in `dtype` (F32 by default; F64 or BF16 also allowed).
    public func saveWeights(path: String, dtype: DType = .f32) throws {
        let tensors = try layout.entries.map { entry in
            RawTensor(
                name: entry.name, dtype: dtype, shape: entry.shape,
                bytes: try Self.encode(
                    UnsafeBufferPointer(start: parameters.pointer + entry.offset, count: entry.count), dtype: dtype))
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: path)
    }

    /// Every tensor of a safetensors file converted to `T` (floats and integers alike; integers
    /// convert exactly up to 2²⁴ in Float) — for fixtures and inspection.
    public static func readTensors(path: String) throws -> [String: Tensor<T>] {
        let file = try SafeTensorsFile(path: path)
        var out: [String: Tensor<T>] = [:]
        for info in file.tensors {
            out[info.name] = Tensor(
                shape: info.shape, storage: try decode(try file.read(info), dtype: info.dtype, name: info.name))
        }
        return out
    }

    static func decode(_ bytes: [UInt8], dtype: DType, name: String) throws -> [T] {
        let values = bytes.withUnsafeBytes { raw -> [T]? in
            let n = bytes.count / dtype.byteSize
            switch dtype {
            case .f32:
                return (0..<n).map {
                    T(
                        Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))
                        ))
                }
            case .f64:
                return (0..<n).map {
                    T(
                        Double(
                            bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))
                        ))
                }
            case .bf16:
                return (0..<n).map {
                    T(
                        Float(
                            bitPattern: UInt32(
                                UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16)
                    )
                }
            case .f16:
                #if arch(x86_64) || arch(arm64)
                    return (0..<n).map {
                        T(
                            Float(
                                Float16(
                                    bitPattern: UInt16(
                                        littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))))
                    }
                #else
                    return nil
                #endif
            case .i32:
                return (0..<n).map { T(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .i64:
                return (0..<n).map { T(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            default: return nil
            }
        }
        guard let values else {
            throw ModelError(
                "tensor \"\(name)\" is \(dtype.rawValue); only F32, F64, F16, BF16, I32 and I64 tensors load")
        }
        return values
    }

    static func encode(_ values: UnsafeBufferPointer<T>, dtype: DType) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * dtype.byteSize)
        switch dtype {
        case .f32:
            for v in values { withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case .f64:
            for v in values { withUnsafeBytes(of: Double(v).bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case .bf16:
            for v in values {
                withUnsafeBytes(of: BF16.encode(Float(v)).littleEndian) { out.append(contentsOf: $0) }
            }
        default:
            throw ModelError("weights can be saved as F32, F64 or BF16, not \(dtype.rawValue)")
        }
        return out
    }
}
