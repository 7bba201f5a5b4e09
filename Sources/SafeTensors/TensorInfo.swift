/// One tensor's entry in a safetensors header: where its bytes are and how to read them.
public struct TensorInfo: Sendable, Hashable {
    /// The tensor's name, e.g. `model.layers.0.self_attn.q_proj.weight`.
    public var name: String
    /// The element type.
    public var dtype: DType
    /// The dimensions, outermost first; `[]` is a scalar (one element).
    public var shape: [Int]
    /// Byte range of the data, relative to the start of the data section (after the header).
    public var dataOffsets: Range<Int>

    /// A tensor entry. No validation happens here; the reader and writer validate.
    public init(name: String, dtype: DType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// The number of elements, or nil if a dimension is negative or the product overflows.
    public var elementCount: Int? { Self.elementCount(of: shape) }

    /// The number of data bytes: `dataOffsets.count`.
    public var byteCount: Int { dataOffsets.count }

    /// The product of `shape`, or nil if a dimension is negative or the product overflows `Int`.
    public static func elementCount(of shape: [Int]) -> Int? {
        var product = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (result, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            product = result
        }
        return product
    }
}
