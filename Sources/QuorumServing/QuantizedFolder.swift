import Foundation
import QuorumModel
import QuorumQuant
import SafeTensors

/// The `quorum_quantization` section of a quantized model folder's `config.json` (its own key: the
/// `quantization` key belongs to quantization-aware training, whose folders hold fp32 latent weights).
public struct QuantizationSection: Codable, Sendable, Equatable {
    /// Always `"quorum"`: the packed layouts of QuorumQuant.
    public var quantMethod: String
    /// The serving format (`w8a8`, `a4.8`, …).
    public var format: String
    /// Layout version of the packed tensors.
    public var version: Int
    /// The linear layers that are packed (the rest is fp32).
    public var quantizedModules: [String]

    enum CodingKeys: String, CodingKey {
        case quantMethod = "quant_method", format, version, quantizedModules = "quantized_modules"
    }

    /// The section for `format`.
    public init(format: ServingFormat) {
        quantMethod = "quorum"
        self.format = format.rawValue
        version = Self.currentVersion
        quantizedModules = LinearRole.allCases.map { String($0.rawValue.split(separator: ".").last!) }
    }

    /// The packed-layout version this code writes and reads.
    public static let currentVersion = 1
}

/// Reads only the quantization keys of a config.json.
private struct ConfigQuantization: Decodable {
    /// A packed folder's section.
    var packed: QuantizationSection?
    /// Quantization-aware training's section (latent fp32 weights trained for a ternary scheme).
    var trained: TrainedScheme?

    struct TrainedScheme: Decodable {
        var scheme: String
    }

    enum CodingKeys: String, CodingKey {
        case packed = "quorum_quantization", trained = "quantization"
    }
}

/// Quantized model folders: `config.json` (the Llama config plus a `quorum_quantization` section),
/// `model.safetensors` (fp32 embedding, norms and untied LM head under their Hugging Face names; each
/// block linear layer `NAME` as `NAME.packed`, U8 `[out, bytesPerRow]` in QuorumQuant's packed layout,
/// and `NAME.scales`, F32, when the layout has scales).
extension ServingWeights {
    /// Writes `directory/config.json` and `directory/model.safetensors` (creating the folder).
    public func save(directory: String) throws(ServingError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let configData = try JSONEncoder().encode(config)
            guard var object = try JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
                throw ServingError("the config did not encode to a JSON object")
            }
            let section = try JSONEncoder().encode(QuantizationSection(format: format))
            // A training scheme's section describes latent fp32 weights, which this folder does not hold.
            object.removeValue(forKey: "quantization")
            object["quorum_quantization"] = try JSONSerialization.jsonObject(with: section)
            object["torch_dtype"] = "float32"
            try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: directory + "/config.json"))
            var tensors: [RawTensor] = []
            for (name, values) in floats {
                var bytes = [UInt8]()
                bytes.reserveCapacity(values.count * 4)
                for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
                let shape =
                    values.count == config.hiddenSize
                    ? [values.count] : [values.count / config.hiddenSize, config.hiddenSize]
                tensors.append(RawTensor(name: name, dtype: .f32, shape: shape, bytes: bytes))
            }
            for (name, m) in packed {
                tensors.append(
                    RawTensor(name: name + ".packed", dtype: .u8, shape: [m.outFeatures, m.rowBytes], bytes: m.bytes))
                if !m.scales.isEmpty {
                    var bytes = [UInt8]()
                    for s in m.scales {
                        withUnsafeBytes(of: s.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
                    }
                    tensors.append(
                        RawTensor(name: name + ".scales", dtype: .f32, shape: [m.scales.count], bytes: bytes))
                }
            }
            tensors.sort { $0.name < $1.name }
            try SafeTensorsWriter.write(
                tensors, metadata: ["format": "quorum-packed", "quorum_format": format.rawValue],
                to: directory + "/model.safetensors")
        } catch let error as ServingError {
            throw error
        } catch {
            throw ServingError(
                "cannot write the quantized model to \(directory): \(error); check the folder is writable")
        }
    }

    /// The `quorum_quantization` section of `directory/config.json`, or nil for a plain model folder.
    public static func quantization(directory: String) throws(ServingError) -> QuantizationSection? {
        try sections(directory: directory).packed
    }

    /// The ternary scheme a plain folder's latent weights were trained for (`quantization.scheme` written
    /// by quantization-aware training: b1.58 or a4.8), which is the natural format to serve it in.
    public static func trainedFormat(directory: String) throws(ServingError) -> ServingFormat? {
        guard let scheme = try sections(directory: directory).trained?.scheme else { return nil }
        guard let format = ServingFormat(rawValue: scheme), format.isTernary else {
            throw ServingError("\(directory)/config.json names an unknown quantization scheme \"\(scheme)\"")
        }
        return format
    }

    private static func sections(directory: String) throws(ServingError) -> ConfigQuantization {
        let path = directory + "/config.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServingError("cannot read \(path): pass a model folder (config.json, model.safetensors)")
        }
        do {
            return try JSONDecoder().decode(ConfigQuantization.self, from: data)
        } catch {
            throw ServingError("\(path) has a malformed quantization section: \(error)")
        }
    }

    /// Reads a quantized folder written by ``save(directory:)``.
    public static func load(directory: String) throws(ServingError) -> ServingWeights {
        guard let section = try quantization(directory: directory) else {
            throw ServingError(
                "\(directory)/config.json has no \"quorum_quantization\" section: it is a plain model folder")
        }
        guard section.quantMethod == "quorum", section.version == QuantizationSection.currentVersion else {
            throw ServingError(
                "\(directory) was quantized by \"\(section.quantMethod)\" version \(section.version); this build reads "
                    + "quorum version \(QuantizationSection.currentVersion): quantize the fp32 model again")
        }
        let format = try ServingFormat.named(section.format)
        let config: LlamaConfig
        do { config = try LlamaConfig.load(path: directory + "/config.json") } catch {
            throw ServingError("\(error)")
        }
        let path = directory + "/model.safetensors"
        do {
            let file = try SafeTensorsFile(path: path)
            func floatsOf(_ name: String) throws -> [Float]? {
                guard let info = file.header[name] else { return nil }
                guard info.dtype == .f32 else {
                    throw ServingError("\(path): \"\(name)\" is \(info.dtype.rawValue), not F32")
                }
                let bytes = try file.read(info)
                return bytes.withUnsafeBytes { raw in
                    (0..<bytes.count / 4).map {
                        Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))
                        )
                    }
                }
            }
            var floats: [String: [Float]] = [:]
            for name in floatTensorNames(config: config) {
                guard let values = try floatsOf(name) else {
                    throw ServingError("\(path) lacks the tensor \"\(name)\"")
                }
                floats[name] = values
            }
            var packed: [String: PackedMatrix] = [:]
            var known = Set(floats.keys)
            for l in 0..<config.numHiddenLayers {
                for role in LinearRole.allCases {
                    let name = role.tensorName(layer: l)
                    guard let info = file.header[name + ".packed"], info.dtype == .u8, info.shape.count == 2 else {
                        throw ServingError(
                            "\(path) lacks \"\(name).packed\" (U8, 2-D) that format \(format.rawValue) needs")
                    }
                    let (out, inDim) = shape(of: role, config: config)
                    let layout = QuantizedLinear.layout(for: format.linearFormat(for: role))
                    let groups = layout == .int4Groups ? Quantize.int4GroupCount(inFeatures: inDim) : 1
                    let rowBytes = PackedMatrix.stride(inDim, layout) * layout.bitsPerWeight / 8
                    guard info.shape == [out, rowBytes] else {
                        throw ServingError(
                            "\(path): \"\(name).packed\" has shape \(info.shape); the config and format need [\(out), \(rowBytes)]"
                        )
                    }
                    let scales = try floatsOf(name + ".scales") ?? []
                    let expectedScales: Int
                    switch layout {
                    case .fp32, .bf16: expectedScales = 0
                    case .int8, .e4m3: expectedScales = out
                    case .int4Groups: expectedScales = out * groups
                    case .ternary2Bit: expectedScales = 1
                    }
                    guard scales.count == expectedScales else {
                        throw ServingError(
                            "\(path): \"\(name)\" has \(scales.count) scales; \(layout.rawValue) \(out)×\(inDim) needs \(expectedScales)"
                        )
                    }
                    packed[name] = PackedMatrix(
                        layout: layout, outFeatures: out, inFeatures: inDim, groupsPerRow: groups,
                        bytes: try file.read(info), scales: scales)
                    known.insert(name + ".packed")
                    known.insert(name + ".scales")
                }
            }
            if let extra = file.tensors.first(where: { !known.contains($0.name) }) {
                throw ServingError("\(path) has a tensor \"\(extra.name)\" that this config has no place for")
            }
            let weights = ServingWeights(config: config, format: format, floats: floats, packed: packed)
            try weights.validate()
            return weights
        } catch let error as ServingError {
            throw error
        } catch {
            throw ServingError("cannot read \(path): \(error)")
        }
    }
}

extension ServingModel {
    /// Loads a model folder to serve: a quantized folder (its own format; `format`, when given, must
    /// match it) or a plain fp32 Llama folder, quantized here to `format` (default: the ternary scheme
    /// its latent weights were trained for, if any, else fp32).
    public static func load(directory: String, format: ServingFormat? = nil) throws(ServingError) -> ServingModel {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            throw ServingError("\(directory) is not a folder; pass a model folder (config.json, model.safetensors)")
        }
        if let section = try ServingWeights.quantization(directory: directory) {
            if let format, format.rawValue != section.format {
                throw ServingError(
                    "\(directory) holds a \(section.format) model and cannot be served as \(format.rawValue): "
                        + "omit --format, or quantize the fp32 model to \(format.rawValue)")
            }
            return try ServingModel(weights: try ServingWeights.load(directory: directory))
        }
        let model: LlamaModel<Float>
        do { model = try LlamaModel<Float>.load(directory: directory) } catch {
            throw ServingError("cannot load the model in \(directory): \(error)")
        }
        var chosen = format
        if chosen == nil { chosen = try ServingWeights.trainedFormat(directory: directory) }
        return try ServingModel(model: model, format: chosen ?? .fp32)
    }
}
