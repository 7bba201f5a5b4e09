public import SafeTensors

/// How a tensor's bytes are stored in a checkpoint.
public enum StorageMethod: UInt8, Sendable, Hashable, CaseIterable {
    /// Bytes as they are (integer and bool tensors).
    case stored = 0
    /// Float split, exponents entropy-coded; decodes bit-exactly.
    case lossless = 1
    /// Float split after keeping only the top k mantissa bits (optionally block-normalised).
    case lossy = 2

    /// A lowercase name for reports.
    public var name: String { ["stored", "lossless", "lossy"][Int(rawValue)] }
}

/// One chunk of a stored tensor: its length, the length of its exponent section, and its CRC32C.
public struct ChunkRecord: Sendable, Hashable {
    /// Total bytes of the chunk.
    public var length: Int
    /// Bytes of the leading exponent section (0 for stored tensors).
    public var exponentLength: Int
    /// CRC32C of the chunk's bytes.
    public var crc: UInt32

    /// A chunk entry.
    public init(length: Int, exponentLength: Int, crc: UInt32) {
        self.length = length
        self.exponentLength = exponentLength
        self.crc = crc
    }
}

/// A tensor's entry in the checkpoint's table: what it is, how it was coded, and where its chunks are.
public struct TensorRecord: Sendable, Hashable {
    /// The tensor's name.
    public var name: String
    /// The element type (decoded tensors have this type again).
    public var dtype: DType
    /// The dimensions, outermost first.
    public var shape: [Int]
    /// How the bytes are stored.
    public var method: StorageMethod
    /// Mantissa bits kept (all of them unless lossy).
    public var keptBits: Int
    /// Elements per normalisation block, or 0 when not normalised.
    public var blockSize: Int
    /// Elements per chunk (the last chunk may hold fewer).
    public var elementsPerChunk: Int
    /// Shannon entropy of the exponent symbols, bits per element (0 for stored tensors).
    public var exponentEntropy: Double
    /// Largest |x − x̂| / |x| over non-zero elements (0 when lossless).
    public var maxRelativeError: Double
    /// File offset of the first chunk.
    public var offset: Int
    /// The chunks, back to back from `offset`.
    public var chunks: [ChunkRecord]

    /// The number of elements.
    public var elementCount: Int { TensorInfo.elementCount(of: shape) ?? 0 }
    /// Bytes of the tensor when decoded.
    public var originalByteCount: Int { elementCount * dtype.byteSize }
    /// Bytes the tensor occupies in the checkpoint.
    public var storedByteCount: Int { chunks.reduce(0) { $0 + $1.length } }
    /// Bytes of the exponent sections.
    public var exponentByteCount: Int { chunks.reduce(0) { $0 + $1.exponentLength } }
}
