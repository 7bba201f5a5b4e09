import Foundation

/// A parsed GGUF v3 file held in memory: metadata, tensor infos and access to each tensor's bytes.
public struct GGUFReader: Sendable {
    /// The format version (3).
    public let version: UInt32
    /// Metadata entries in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensor descriptions in file order.
    public let tensors: [GGUFTensorInfo]
    /// Byte alignment in effect.
    public let alignment: Int
    /// Where the data section starts in the file.
    public let dataStart: Int
    private let bytes: [UInt8]

    /// Reads and parses the file at `path`.
    public init(path: String) throws(GGUFError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GGUFError("cannot read \(path): check that the file exists")
        }
        try self.init(bytes: [UInt8](data))
    }

    /// Parses a whole file held in memory.
    public init(bytes: [UInt8]) throws(GGUFError) {
        var source = ByteSource(bytes: bytes)
        let magic = try source.read(UInt32.self, "the magic number")
        guard magic == GGUF.magic else { throw GGUFError("not a GGUF file (the first four bytes are not \"GGUF\")") }
        version = try source.read(UInt32.self, "the version")
        guard version == GGUF.version else {
            throw GGUFError("GGUF version \(version) is not supported (only version 3 is)")
        }
        let tensorCount = try source.readCount("the tensor count")
        let metadataCount = try source.readCount("the metadata count")
        var metadata: [(key: String, value: GGUFValue)] = []
        for index in 0..<metadataCount {
            let key = try source.readString("metadata key \(index)")
            let type = try source.readType("metadata \(key)")
            metadata.append((key: key, value: try source.readValue(type, "metadata \(key)")))
        }
        var alignment = GGUF.defaultAlignment
        if let entry = metadata.first(where: { $0.key == "general.alignment" }) {
            guard case .uint32(let value) = entry.value, value > 0, value % 8 == 0 else {
                throw GGUFError("general.alignment must be a u32 multiple of 8")
            }
            alignment = Int(value)
        }
        var tensors: [GGUFTensorInfo] = []
        for index in 0..<tensorCount {
            let name = try source.readString("tensor name \(index)")
            let dimensionCount = try source.read(UInt32.self, "tensor \(name)")
            guard (1...4).contains(dimensionCount) else {
                throw GGUFError("tensor \(name) has \(dimensionCount) dimensions (1 to 4 allowed)")
            }
            var dimensions: [Int] = []
            var elements = 1
            for _ in 0..<dimensionCount {
                let extent = try source.read(UInt64.self, "tensor \(name)")
                guard extent > 0, extent < 1 << 40 else { throw GGUFError("tensor \(name) has extent \(extent)") }
                dimensions.append(Int(extent))
                // The product must stay far from Int's range, or every size computed from it would trap.
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(extent))
                guard !overflow, product < GGUF.maxElements else {
                    throw GGUFError(
                        "tensor \(name) has dimensions \(dimensions)… whose product exceeds \(GGUF.maxElements) elements")
                }
                elements = product
            }
            let type = GGMLType(rawValue: try source.read(UInt32.self, "tensor \(name)"))
            let offset = try source.read(UInt64.self, "tensor \(name)")
            guard offset % UInt64(alignment) == 0, offset < 1 << 48 else {
                throw GGUFError("tensor \(name) has offset \(offset), not a multiple of the alignment \(alignment)")
            }
            tensors.append(GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: Int(offset)))
        }
        let dataStart = (source.position + alignment - 1) / alignment * alignment
        for info in tensors {
            if let size = info.byteCount, dataStart + info.offset + size > bytes.count {
                throw GGUFError("tensor \(info.name) extends past the end of the file; it is truncated")
            }
        }
        self.metadata = metadata
        self.tensors = tensors
        self.alignment = alignment
        self.dataStart = dataStart
        self.bytes = bytes
    }

    /// The value stored under `key`.
    public subscript(key: String) -> GGUFValue? {
        metadata.first(where: { $0.key == key })?.value
    }

    /// The tensor named `name`.
    public func tensor(_ name: String) -> GGUFTensorInfo? {
        tensors.first(where: { $0.name == name })
    }

    /// A tensor's encoded bytes.
    public func data(of info: GGUFTensorInfo) throws(GGUFError) -> [UInt8] {
        guard let size = info.byteCount else {
            throw GGUFError("tensor \(info.name) has unsupported type \(info.type)")
        }
        let start = dataStart + info.offset
        return Array(bytes[start..<(start + size)])
    }

    /// A tensor's values decoded to fp32.
    public func values(of info: GGUFTensorInfo) throws(GGUFError) -> [Float] {
        try BlockQuantization.decode(data(of: info), as: info.type, count: info.elementCount)
    }
}

extension GGUFReader {
    /// The file as lines a person reads: the header, every metadata entry (long arrays shortened to
    /// their first five elements) and every tensor with its type, dimensions and offset.
    public var listing: [String] {
        ["GGUF v\(version), \(metadata.count) metadata entries, \(tensors.count) tensors"]
            + metadata.map { "  \($0.key) = \($0.value.summary)" }
            + tensors.map { "  \($0.name) \($0.type) \($0.dimensions) at \($0.offset)" }
    }
}

extension GGUFValue {
    /// The value in one short line: strings quoted, arrays as their length, type and first elements.
    public var summary: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .array(let type, let values):
            let head = values.prefix(5).map(\.summary).joined(separator: ", ")
            return "[\(values.count) × \(type)] [\(head)\(values.count > 5 ? ", …" : "")]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return integer.map { "\($0)" } ?? "\(self)"
        }
    }
}
