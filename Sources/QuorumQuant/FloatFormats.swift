/// FP8 E4M3 as in the OCP FP8 spec (the "fn" variant): 1 sign, 4 exponent (bias 7), 3 mantissa bits;
/// no infinities, NaN only as S.1111.111 (0x7f / 0xff), largest finite 448, subnormals m · 2⁻⁹.
public enum E4M3 {
    /// Largest finite magnitude.
    public static let maxValue: Float = 448
    /// The positive NaN code (0xff is the negative one).
    public static let nanCode: UInt8 = 0x7f

    /// Encodes with round-to-nearest-even, saturating to ±448 (finite values and infinities alike);
    /// NaN maps to 0x7f / 0xff.
    public static func encode(_ value: Float) -> UInt8 {
        let sign: UInt8 = value.sign == .minus ? 0x80 : 0
        if value.isNaN { return sign | nanCode }
        let magnitude = value.magnitude
        if magnitude >= maxValue { return sign | 0x7e }
        // Exponent of the binade, clamped to the smallest normal one (2⁻⁶): below it the spacing
        // stays 2⁻⁹ (subnormals). Spacing in binade e is 2^(e-3).
        let exponent = max(Int(magnitude.exponent), -6)
        let steps = (magnitude * Float(sign: .plus, exponent: 3 - exponent, significand: 1))
            .rounded(.toNearestOrEven)  // exact scaling by a power of two, then RNE
        // steps is in [0, 16]; code = (e + 6)·8 + steps covers subnormals (e = -6, steps < 8), normals
        // (steps = 8 + m) and the carry into the next binade (steps = 16).
        let code = (exponent + 6) * 8 + Int(steps)
        return sign | UInt8(min(code, 0x7e))
    }

    /// Decodes a code to fp32 (exact); 0x7f / 0xff give NaN.
    public static func decode(_ code: UInt8) -> Float {
        let magnitudeBits = code & 0x7f
        if magnitudeBits == 0x7f { return .nan }
        let exponent = Int(magnitudeBits >> 3)
        let mantissa = Float(magnitudeBits & 7)
        let magnitude =
            exponent == 0
            ? mantissa * Float(sign: .plus, exponent: -9, significand: 1)
            : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        return code & 0x80 != 0 ? -magnitude : magnitude
    }

    /// All 256 decoded values, indexed by code.
    public static let table: [Float] = (0..<256).map { decode(UInt8($0)) }
}
