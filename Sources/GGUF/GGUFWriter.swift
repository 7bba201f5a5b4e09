import Foundation

/// Collects metadata and tensors, then writes a GGUF v3 file.
///
/// Metadata keys keep their insertion order (llama.cpp does not care, but files are reproducible).
public struct GGUFWriter: Sendable {
    /// Metadata entries in insertion order.
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    /// Tensor descriptions (offsets assigned as tensors are added).
    public private(set) var tensors: [GGUFTensorInfo] = []
    private var tensorData: [[UInt8]] = []
    private var dataSize = 0
    /// Byte alignment of the data section and of every tensor.
    public let alignment: Int

    /// Makes an empty writer; an alignment other than 32 is recorded as `general.alignment`.
    public init(alignment: Int = GGUF.defaultAlignment) {
        precondition(alignment > 0 && alignment % 8 == 0, "GGUF alignment must be a positive multiple of 8")
        self.alignment = alignment
        if alignment != GGUF.defaultAlignment {
            metadata.append((key: "general.alignment", value: .uint32(UInt32(alignment))))
        }
    }

    /// Adds (or replaces) a metadata entry.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = metadata.firstIndex(where: { $0.key == key }) {
            metadata[index].value = value
        } else {
            metadata.append((key: key, value: value))
        }
    }

    /// Adds a tensor whose data is already encoded as `type`; `dimensions` are in ggml order
    /// (contiguous dimension first).
    public mutating func addTensor(
        name: String, dimensions: [Int], type: GGMLType, data: [UInt8]
    ) throws(GGUFError) {
        guard !name.isEmpty, name.utf8.count <= 64 else {
            throw GGUFError("tensor name \"\(name)\" must have 1 to 64 bytes")
        }
        guard !tensors.contains(where: { $0.name == name }) else {
            throw GGUFError("tensor \(name) was added twice")
        }
        guard !dimensions.isEmpty, dimensions.count <= 4, dimensions.allSatisfy({ $0 > 0 }) else {
            throw GGUFError("tensor \(name) has dimensions \(dimensions); GGUF needs 1 to 4 positive extents")
        }
        guard dimensions[0] % type.blockSize == 0 else {
            throw GGUFError(
                "tensor \(name): rows of \(dimensions[0]) elements are not a whole number of \(type) blocks "
                    + "of \(type.blockSize)")
        }
        let info = GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: dataSize)
        guard let expected = info.byteCount, expected == data.count else {
            throw GGUFError("tensor \(name): \(data.count) bytes given, \(info.byteCount ?? -1) expected for \(type)")
        }
        tensors.append(info)
        tensorData.append(data)
        dataSize += (data.count + alignment - 1) / alignment * alignment
    }

    /// Encodes `values` (row-major, rows of `dimensions[0]`) as `type` and adds them.
    public mutating func addTensor(
        name: String, dimensions: [Int], type: GGMLType, values: [Float]
    ) throws(GGUFError) {
        guard values.count == dimensions.reduce(1, *) else {
            throw GGUFError("tensor \(name): \(values.count) values for dimensions \(dimensions)")
        }
        try addTensor(name: name, dimensions: dimensions, type: type, data: BlockQuantization.encode(values, as: type))
    }

    /// The header, metadata and tensor infos, padded to the alignment (everything before the data).
    public func headerBytes() throws(GGUFError) -> [UInt8] {
        var sink = ByteSink()
        sink.append(GGUF.magic)
        sink.append(GGUF.version)
        sink.append(UInt64(tensors.count))
        sink.append(UInt64(metadata.count))
        for (key, value) in metadata {
            sink.append(string: key)
            sink.append(value.type.rawValue)
            try sink.append(value: value)
        }
        for info in tensors {
            sink.append(string: info.name)
            sink.append(UInt32(info.dimensions.count))
            for extent in info.dimensions { sink.append(UInt64(extent)) }
            sink.append(info.type.rawValue)
            sink.append(UInt64(info.offset))
        }
        sink.pad(to: alignment)
        return sink.bytes
    }

    /// The whole file in memory.
    public func bytes() throws(GGUFError) -> [UInt8] {
        var out = try headerBytes()
        out.reserveCapacity(out.count + dataSize)
        for data in tensorData {
            out.append(contentsOf: data)
            let rest = data.count % alignment
            if rest != 0 { out.append(contentsOf: repeatElement(0, count: alignment - rest)) }
        }
        return out
    }

    /// Writes the file to `path` (replacing it), streaming tensor data.
    public func write(to path: String) throws(GGUFError) {
        let header = try headerBytes()
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw GGUFError("cannot create \(path): check that the folder exists and is writable")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.write(contentsOf: header)
            for data in tensorData {
                try handle.write(contentsOf: data)
                let rest = data.count % alignment
                if rest != 0 { try handle.write(contentsOf: [UInt8](repeating: 0, count: alignment - rest)) }
            }
        } catch {
            throw GGUFError("writing \(path) failed: \(error)")
        }
    }
}
