/// ggml's reference block quantizers and dequantizers for the types GGUF export writes.
///
/// Each quantizer reproduces ggml's reference (`quantize_row_*_ref`) arithmetic step by step in
/// fp32, so the bytes equal what ggml (and the `gguf` Python package's numpy port) produce:
/// - Q8_0: `d = max|x| / 127`, `q = round(x / d)` (round half away from zero, via `x · (1/d)`).
/// - Q4_0: `m` = the element with the largest magnitude (first one on ties), `d = m / −8`,
///   `q = min(15, trunc(x · (1/d) + 8.5))`; the sign of `d` lets the extreme value use code 0 (−8).
/// - TQ2_0: `d = max|x|`, `q = round(x / d) + 1 ∈ {0, 1, 2}` (absmax ternary, one scale per 256).
/// Scales are stored as fp16 (round to nearest even). A zero block gets `d = 0` and all-zero codes.
public enum BlockQuantization {
    /// Encodes `values` (a whole number of rows, each a multiple of the block size) as `type`.
    public static func encode(_ values: [Float], as type: GGMLType) throws(GGUFError) -> [UInt8] {
        guard let (blockSize, blockBytes) = type.layout else {
            throw GGUFError("cannot encode tensor data as \(type): only F32, F16, Q8_0, Q4_0 and TQ2_0 are supported")
        }
        guard values.count % blockSize == 0 else {
            throw GGUFError(
                "\(values.count) values are not a whole number of \(type) blocks of \(blockSize); "
                    + "keep this tensor in F32 or F16")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw GGUFError("value \(bad) is \(values[bad]); only finite weights can be exported")
        }
        var out = [UInt8](repeating: 0, count: values.count / blockSize * blockBytes)
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                for b in 0..<(values.count / blockSize) {
                    let src = UnsafeBufferPointer(rebasing: x[(b * blockSize)..<((b + 1) * blockSize)])
                    let dst = UnsafeMutableBufferPointer(rebasing: y[(b * blockBytes)..<((b + 1) * blockBytes)])
                    switch type {
                    case .f32: storeLittleEndian(src[0].bitPattern, into: dst, at: 0)
                    case .f16: storeLittleEndian(Float16(src[0]).bitPattern, into: dst, at: 0)
                    case .q8_0: quantizeQ8_0(src, into: dst)
                    case .q4_0: quantizeQ4_0(src, into: dst)
                    default: quantizeTQ2_0(src, into: dst)
                    }
                }
            }
        }
        return out
    }

    /// Decodes `bytes` of `type` into `count` floats.
    public static func decode(_ bytes: [UInt8], as type: GGMLType, count: Int) throws(GGUFError) -> [Float] {
        guard let (blockSize, blockBytes) = type.layout else {
            throw GGUFError("cannot decode \(type) tensor data: only F32, F16, Q8_0, Q4_0 and TQ2_0 are supported")
        }
        guard count % blockSize == 0, bytes.count == count / blockSize * blockBytes else {
            throw GGUFError("\(bytes.count) bytes do not hold \(count) elements of \(type)")
        }
        var out = [Float](repeating: 0, count: count)
        for b in 0..<(count / blockSize) {
            let base = b * blockBytes
            let o = b * blockSize
            switch type {
            case .f32:
                out[o] = Float(bitPattern: loadUInt32(bytes, base))
            case .f16:
                out[o] = Float(Float16(bitPattern: loadUInt16(bytes, base)))
            case .q8_0:
                let d = Float(Float16(bitPattern: loadUInt16(bytes, base)))
                for j in 0..<32 { out[o + j] = d * Float(Int8(bitPattern: bytes[base + 2 + j])) }
            case .q4_0:
                let d = Float(Float16(bitPattern: loadUInt16(bytes, base)))
                for j in 0..<16 {
                    let byte = bytes[base + 2 + j]
                    out[o + j] = d * Float(Int(byte & 0x0F) - 8)
                    out[o + j + 16] = d * Float(Int(byte >> 4) - 8)
                }
            default:
                let d = Float(Float16(bitPattern: loadUInt16(bytes, base + 64)))
                for half in 0..<2 {
                    for shift in 0..<4 {
                        for j in 0..<32 {
                            let code = (bytes[base + half * 32 + j] >> UInt8(2 * shift)) & 3
                            out[o + half * 128 + shift * 32 + j] = d * Float(Int(code) - 1)
                        }
                    }
                }
            }
        }
        return out
    }

    // MARK: - Blocks

    private static func quantizeQ8_0(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<UInt8>) {
        var amax: Float = 0
        for v in x { amax = max(amax, abs(v)) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeLittleEndian(Float16(d).bitPattern, into: y, at: 0)
        for j in 0..<32 {
            y[2 + j] = UInt8(bitPattern: Int8((x[j] * id).rounded(.toNearestOrAwayFromZero)))
        }
    }

    private static func quantizeQ4_0(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<UInt8>) {
        var amax: Float = 0
        var extreme: Float = 0
        for v in x where abs(v) > amax {
            amax = abs(v)
            extreme = v
        }
        let d = extreme / -8
        let id: Float = d != 0 ? 1 / d : 0
        storeLittleEndian(Float16(d).bitPattern, into: y, at: 0)
        for j in 0..<16 {
            let lo = min(15, UInt8((x[j] * id + 8.5).rounded(.towardZero)))
            let hi = min(15, UInt8((x[j + 16] * id + 8.5).rounded(.towardZero)))
            y[2 + j] = lo | (hi << 4)
        }
    }

    private static func quantizeTQ2_0(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<UInt8>) {
        var amax: Float = 0
        for v in x { amax = max(amax, abs(v)) }
        let d = amax
        let id: Float = d != 0 ? 1 / d : 0
        for half in 0..<2 {
            for j in 0..<32 {
                var byte: UInt8 = 0
                for shift in 0..<4 {
                    let v = x[half * 128 + shift * 32 + j]
                    let code = UInt8(Int8((v * id).rounded(.toNearestOrAwayFromZero)) + 1)
                    byte |= code << UInt8(2 * shift)
                }
                y[half * 32 + j] = byte
            }
        }
        storeLittleEndian(Float16(d).bitPattern, into: y, at: 64)
    }

    // MARK: - Bytes

    private static func storeLittleEndian<T: FixedWidthInteger>(
        _ value: T, into y: UnsafeMutableBufferPointer<UInt8>, at offset: Int
    ) {
        for i in 0..<(T.bitWidth / 8) { y[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    private static func loadUInt16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func loadUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
}
