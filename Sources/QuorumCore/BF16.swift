/// bfloat16: the top 16 bits of an IEEE fp32 (1 sign, 8 exponent, 7 mantissa bits).
public enum BF16 {
    /// Rounds `value` to the nearest bfloat16, ties to even; NaN stays NaN (quiet), infinities stay infinite.
    @inline(__always)
    public static func encode(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        // Round to nearest even on the 16 dropped bits: add 0x7FFF plus the lowest kept bit.
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// The fp32 value of a bfloat16 bit pattern (exact).
    @inline(__always)
    public static func decode(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }
}
