/// A safetensors file opened for random access: the header is read and validated once, and each
/// tensor's bytes are read on demand with positioned reads (safe from several threads at once).
public struct SafeTensorsFile: Sendable {
    /// The validated header.
    public let header: SafeTensorsHeader
    /// The file offset at which the data section begins (8 + header length).
    public let dataStart: Int
    /// The open file.
    private let file: PosixFile

    /// Opens and validates `path`; throws a `SafeTensorsError` saying what is wrong if it is not a valid file.
    public init(path: String) throws {
        file = try PosixFile(readingFrom: path)
        do {
            let size = try file.size()
            let length = try SafeTensorsHeader.headerLength(
                prefix: try file.read(count: min(8, size), at: 0), fileSize: size)
            header = try SafeTensorsHeader.parse(
                json: try file.read(count: length, at: 8), dataByteCount: size - 8 - length)
            dataStart = 8 + length
        } catch let error as SafeTensorsError {
            throw SafeTensorsError(error.code, "\(path): \(error.message)")
        }
    }

    /// The tensors, in data order.
    public var tensors: [TensorInfo] { header.tensors }

    /// The `__metadata__` map.
    public var metadata: [String: String] { header.metadata }

    /// The raw little-endian bytes of `tensor` (an entry of this file's header).
    public func read(_ tensor: TensorInfo) throws -> [UInt8] {
        try file.read(count: tensor.byteCount, at: dataStart + tensor.dataOffsets.lowerBound)
    }

    /// The raw little-endian bytes of the tensor called `name`.
    public func read(_ name: String) throws -> [UInt8] {
        guard let tensor = header[name] else {
            throw SafeTensorsError(.noSuchTensor, "no tensor named \"\(name)\" in \(file.path)")
        }
        return try read(tensor)
    }
}
