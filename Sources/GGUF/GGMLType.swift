/// A ggml tensor element type: the `u32` tag in a GGUF tensor info. Quantized types store
/// fixed-size blocks of consecutive elements along a row (ggml's `ne[0]`); a row's length must be
/// a multiple of the block size.
public struct GGMLType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    /// ggml's numeric type id.
    public var rawValue: UInt32

    /// Makes a type from its id (unknown ids are kept, with no known layout).
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// IEEE binary32, one element per "block".
    public static let f32 = GGMLType(rawValue: 0)
    /// IEEE binary16.
    public static let f16 = GGMLType(rawValue: 1)
    /// Blocks of 32: an fp16 scale `d`, then 16 bytes of 4-bit codes `q` (element = d·(q − 8));
    /// byte j holds element j in its low nibble and element j + 16 in its high nibble.
    public static let q4_0 = GGMLType(rawValue: 2)
    /// Blocks of 32: an fp16 scale `d`, then 32 signed bytes `q` (element = d·q).
    public static let q8_0 = GGMLType(rawValue: 8)
    /// Ternary blocks of 256: 64 bytes of 2-bit codes `q ∈ {0, 1, 2}` (element = d·(q − 1)), then
    /// an fp16 scale `d`. In each 128-element half, byte j holds elements j, j + 32, j + 64, j + 96
    /// at bit offsets 0, 2, 4, 6.
    public static let tq2_0 = GGMLType(rawValue: 35)

    /// Elements per block and bytes per block, for the types this module knows.
    public var layout: (blockSize: Int, blockBytes: Int)? {
        switch self {
        case .f32: (1, 4)
        case .f16: (1, 2)
        case .q4_0: (32, 18)
        case .q8_0: (32, 34)
        case .tq2_0: (256, 66)
        default: nil
        }
    }

    /// Elements per block (1 for unknown types).
    public var blockSize: Int { layout?.blockSize ?? 1 }

    /// Whether this is a block-quantized type.
    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes that `elementCount` elements take, or nil if the type is unknown or the count is not a
    /// whole number of blocks.
    public func byteCount(elements elementCount: Int) -> Int? {
        guard let (size, bytes) = layout, elementCount % size == 0 else { return nil }
        return elementCount / size * bytes
    }

    /// ggml's name for the type.
    public var description: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q4_0: "Q4_0"
        case .q8_0: "Q8_0"
        case .tq2_0: "TQ2_0"
        default: "type \(rawValue)"
        }
    }
}
