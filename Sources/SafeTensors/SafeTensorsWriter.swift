/// A tensor held in memory: name, element type, shape and raw little-endian bytes.
public struct RawTensor: Sendable, Hashable {
    /// The tensor's name.
    public var name: String
    /// The element type.
    public var dtype: DType
    /// The dimensions, outermost first.
    public var shape: [Int]
    /// product(shape) · dtype.byteSize bytes, little-endian.
    public var bytes: [UInt8]

    /// A tensor; the writer checks that `bytes` fits `shape` and `dtype`.
    public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }
}

/// Writes a safetensors file as a stream: the header first, then each tensor's bytes in header order
/// (sorted by name), so a large model never has to sit in memory whole.
///
/// ```swift
/// let writer = try SafeTensorsWriter(path: out, header: .layout(specs))
/// for tensor in writer.header.tensors { try writer.append(bytesOf(tensor.name)) }
/// try writer.finish()
/// ```
/// - Important: Use from one task at a time; `append` must follow `header.tensors` order.
public final class SafeTensorsWriter {
    /// The header being written; its `tensors` give the order `append` expects.
    public let header: SafeTensorsHeader
    /// The open output file.
    private let file: PosixFile
    /// How many tensors have been appended.
    private var written = 0

    /// Creates `path` and writes the header.
    public init(path: String, header: SafeTensorsHeader) throws {
        self.header = header
        file = try PosixFile(writingTo: path)
        try header.encoded().withUnsafeBytes { (buffer) in try file.write(buffer) }
    }

    /// The tensor whose bytes `append` expects next, or nil when all are written.
    public var next: TensorInfo? { written < header.tensors.count ? header.tensors[written] : nil }

    /// Appends the bytes of the next tensor.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let tensor = next else {
            throw SafeTensorsError(.invalidArgument, "more tensors appended than the header lists")
        }
        guard bytes.count == tensor.byteCount else {
            throw SafeTensorsError(
                .invalidArgument, "tensor \"\(tensor.name)\" needs \(tensor.byteCount) bytes, got \(bytes.count)")
        }
        try file.write(bytes)
        written += 1
    }

    /// Appends the bytes of the next tensor.
    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { (buffer) in try append(buffer) }
    }

    /// Checks that every tensor was written.
    public func finish() throws {
        guard written == header.tensors.count else {
            throw SafeTensorsError(
                .invalidArgument,
                "only \(written) of \(header.tensors.count) tensors were written; the file is incomplete")
        }
    }

    /// Writes `tensors` (any order; stored sorted by name) and `metadata` to `path` in one call.
    public static func write(_ tensors: [RawTensor], metadata: [String: String] = [:], to path: String) throws {
        let (header, byName) = try prepare(tensors, metadata: metadata)
        let writer = try SafeTensorsWriter(path: path, header: header)
        for info in header.tensors { try writer.append(byName[info.name]!.bytes) }
        try writer.finish()
    }

    /// The bytes of a safetensors file holding `tensors` and `metadata`.
    public static func serialize(_ tensors: [RawTensor], metadata: [String: String] = [:]) throws
        -> [UInt8]
    {
        let (header, byName) = try prepare(tensors, metadata: metadata)
        var out = header.encoded()
        for info in header.tensors { out.append(contentsOf: byName[info.name]!.bytes) }
        return out
    }

    /// Lays out `tensors` and checks each one's byte count.
    private static func prepare(_ tensors: [RawTensor], metadata: [String: String]) throws
        -> (SafeTensorsHeader, [String: RawTensor])
    {
        let header = try SafeTensorsHeader.layout(tensors.map { ($0.name, $0.dtype, $0.shape) }, metadata: metadata)
        var byName: [String: RawTensor] = [:]
        for tensor in tensors { byName[tensor.name] = tensor }
        for info in header.tensors where byName[info.name]!.bytes.count != info.byteCount {
            throw SafeTensorsError(
                .invalidArgument,
                "tensor \"\(info.name)\" has \(byName[info.name]!.bytes.count) bytes; shape \(info.shape) "
                    + "of \(info.dtype.rawValue) needs \(info.byteCount)")
        }
        return (header, byName)
    }
}
