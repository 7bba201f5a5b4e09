public import SafeTensors
import QuorumCore

/// The bit layout of a floating-point element type that NeuZip can split.
public enum FloatFormat: Sendable, Hashable, CaseIterable {
    /// bfloat16: 1 sign, 8 exponent, 7 mantissa bits.
    case bf16
    /// IEEE binary16: 1 sign, 5 exponent, 10 mantissa bits.
    case fp16
    /// IEEE binary32: 1 sign, 8 exponent, 23 mantissa bits.
    case fp32

    /// The format of `dtype`, or nil when it is not a float NeuZip codes.
    public init?(_ dtype: DType) {
        switch dtype {
        case .bf16: self = .bf16
        case .f16: self = .fp16
        case .f32: self = .fp32
        default: return nil
        }
    }

    /// Bytes per element.
    public var byteSize: Int { self == .fp32 ? 4 : 2 }
    /// Exponent bits.
    public var exponentBits: Int { self == .fp16 ? 5 : 8 }
    /// Mantissa (fraction) bits.
    public var mantissaBits: Int {
        switch self {
        case .bf16: 7
        case .fp16: 10
        case .fp32: 23
        }
    }

    /// Mask of the magnitude (exponent and mantissa) bits.
    var magnitudeMask: UInt32 { (1 << UInt32(exponentBits + mantissaBits)) - 1 }
    /// The sign bit.
    var signBit: UInt32 { 1 << UInt32(exponentBits + mantissaBits) }
    /// The all-ones exponent (inf and NaN), in place.
    var infinityBits: UInt32 { ((1 << UInt32(exponentBits)) - 1) << UInt32(mantissaBits) }

    /// Loads element `i` of little-endian `bytes` as raw bits.
    @inline(__always)
    func load(_ bytes: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        byteSize == 4
            ? UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            : UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
    }

    /// Stores raw bits as element `i` of little-endian `bytes`.
    @inline(__always)
    func store(_ bits: UInt32, _ bytes: UnsafeMutableRawBufferPointer, _ i: Int) {
        if byteSize == 4 {
            bytes.storeBytes(of: bits.littleEndian, toByteOffset: i * 4, as: UInt32.self)
        } else {
            bytes.storeBytes(of: UInt16(truncatingIfNeeded: bits).littleEndian, toByteOffset: i * 2, as: UInt16.self)
        }
    }

    /// The value of raw `bits` as a Float (exact for every format).
    @inline(__always)
    func toFloat(_ bits: UInt32) -> Float {
        switch self {
        case .fp32: Float(bitPattern: bits)
        case .bf16: Float(bitPattern: bits << 16)
        case .fp16: Float(Float16(bitPattern: UInt16(truncatingIfNeeded: bits)))
        }
    }

    /// `value` rounded to nearest-even in this format; a finite value that would round to infinity
    /// becomes the largest finite value of its sign instead.
    @inline(__always)
    func fromFloat(_ value: Float) -> UInt32 {
        let bits: UInt32
        switch self {
        case .fp32: return value.bitPattern
        case .bf16:
            bits = UInt32(BF16.encode(value))
        case .fp16:
            bits = UInt32(Float16(value).bitPattern)
        }
        if value.isFinite && (bits & magnitudeMask) >= infinityBits {
            return (bits & signBit) | (infinityBits - 1)
        }
        return bits
    }

    /// Whether raw `bits` is ±inf or NaN.
    @inline(__always)
    func isNonFinite(_ bits: UInt32) -> Bool { (bits & infinityBits) == infinityBits }
}
