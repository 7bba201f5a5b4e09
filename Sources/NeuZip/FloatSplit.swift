/// NeuZip's float splitting (paper §3): each element becomes one exponent symbol (a byte, entropy-coded
/// later) and a residual of sign + the top k mantissa bits, packed densely LSB-first at 1 + k bits each.
///
/// `split`/`merge` take byte-aligned fast paths for 8-, 16- and 24-bit residuals (bf16 and fp32
/// lossless); `splitReference`/`mergeReference` are the plain bit-by-bit definitions they are tested against.
enum FloatSplit {
    /// Bytes of the dense residual stream for `count` elements keeping `keptBits` mantissa bits.
    static func residualByteCount(count: Int, keptBits: Int) -> Int { (count * (1 + keptBits) + 7) / 8 }

    /// The residual of raw `bits`: sign above the top `keptBits` mantissa bits.
    @inline(__always)
    static func residual(_ bits: UInt32, _ format: FloatFormat, _ keptBits: Int) -> UInt32 {
        let m = format.mantissaBits
        let sign = (bits >> UInt32(format.exponentBits + m)) & 1
        let mantissa = (bits & ((1 << UInt32(m)) - 1)) >> UInt32(m - keptBits)
        return sign << UInt32(keptBits) | mantissa
    }

    /// Raw bits from an exponent symbol and a residual (dropped mantissa bits become zero).
    @inline(__always)
    static func join(_ exponent: UInt8, _ residual: UInt32, _ format: FloatFormat, _ keptBits: Int) -> UInt32 {
        let m = UInt32(format.mantissaBits)
        let sign = residual >> UInt32(keptBits)
        let mantissa = (residual & ((1 << UInt32(keptBits)) - 1)) << (m - UInt32(keptBits))
        return sign << (UInt32(format.exponentBits) + m) | UInt32(exponent) << m | mantissa
    }

    /// Splits `count` little-endian elements of `source` into `exponents` and the packed `residuals`.
    static func split(
        _ source: UnsafeRawBufferPointer, count: Int, format: FloatFormat, keptBits: Int,
        exponents: UnsafeMutableBufferPointer<UInt8>, residuals: UnsafeMutableRawBufferPointer
    ) {
        let m = UInt32(format.mantissaBits)
        let exponentMask = UInt32((1 << format.exponentBits) - 1)
        if format == .bf16 && keptBits == 7 {
            return splitBF16(source, count: count, exponents: exponents, residuals: residuals)
        }
        if format == .fp32 && keptBits == 23 {
            return splitFP32(source, count: count, exponents: exponents, residuals: residuals)
        }
        switch 1 + keptBits {
        case 8, 16, 24:
            let width = (1 + keptBits) / 8
            for i in 0..<count {
                let bits = format.load(source, i)
                exponents[i] = UInt8(truncatingIfNeeded: (bits >> m) & exponentMask)
                let r = residual(bits, format, keptBits)
                residuals[i * width] = UInt8(truncatingIfNeeded: r)
                if width > 1 { residuals[i * width + 1] = UInt8(truncatingIfNeeded: r >> 8) }
                if width > 2 { residuals[i * width + 2] = UInt8(truncatingIfNeeded: r >> 16) }
            }
        default:
            splitReference(
                source, count: count, format: format, keptBits: keptBits, exponents: exponents, residuals: residuals)
        }
    }

    /// Lossless bf16, the common case, with constant shifts the compiler can vectorise:
    /// exponent = bits 14…7, residual = sign (bit 15) above mantissa (bits 6…0).
    static func splitBF16(
        _ source: UnsafeRawBufferPointer, count: Int, exponents: UnsafeMutableBufferPointer<UInt8>,
        residuals: UnsafeMutableRawBufferPointer
    ) {
        let e = exponents.baseAddress!
        let r = residuals.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let s = source.baseAddress!
        for i in 0..<count {
            let bits = UInt16(littleEndian: s.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
            e[i] = UInt8(truncatingIfNeeded: bits &>> 7)
            r[i] = UInt8(truncatingIfNeeded: (bits &>> 8) & 0x80 | bits & 0x7F)
        }
    }

    /// The inverse of `splitBF16`.
    static func mergeBF16(
        exponents: UnsafeBufferPointer<UInt8>, residuals: UnsafeRawBufferPointer, count: Int,
        into destination: UnsafeMutableRawBufferPointer
    ) {
        let e = exponents.baseAddress!
        let r = residuals.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let d = destination.baseAddress!
        for i in 0..<count {
            let residual = UInt16(r[i])
            let bits = (residual & 0x80) &<< 8 | UInt16(e[i]) &<< 7 | residual & 0x7F
            d.storeBytes(of: bits.littleEndian, toByteOffset: i &* 2, as: UInt16.self)
        }
    }

    /// Lossless fp32: exponent = bits 30…23, residual = sign (bit 31) above mantissa (bits 22…0), 3 bytes.
    static func splitFP32(
        _ source: UnsafeRawBufferPointer, count: Int, exponents: UnsafeMutableBufferPointer<UInt8>,
        residuals: UnsafeMutableRawBufferPointer
    ) {
        let e = exponents.baseAddress!
        let r = residuals.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let s = source.baseAddress!
        for i in 0..<count {
            let bits = UInt32(littleEndian: s.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
            e[i] = UInt8(truncatingIfNeeded: bits &>> 23)
            let residual = (bits &>> 8) & 0x80_0000 | bits & 0x7F_FFFF
            r[i &* 3] = UInt8(truncatingIfNeeded: residual)
            r[i &* 3 &+ 1] = UInt8(truncatingIfNeeded: residual &>> 8)
            r[i &* 3 &+ 2] = UInt8(truncatingIfNeeded: residual &>> 16)
        }
    }

    /// The inverse of `splitFP32`.
    static func mergeFP32(
        exponents: UnsafeBufferPointer<UInt8>, residuals: UnsafeRawBufferPointer, count: Int,
        into destination: UnsafeMutableRawBufferPointer
    ) {
        let e = exponents.baseAddress!
        let r = residuals.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let d = destination.baseAddress!
        for i in 0..<count {
            let residual = UInt32(r[i &* 3]) | UInt32(r[i &* 3 &+ 1]) &<< 8 | UInt32(r[i &* 3 &+ 2]) &<< 16
            let bits = (residual & 0x80_0000) &<< 8 | UInt32(e[i]) &<< 23 | residual & 0x7F_FFFF
            d.storeBytes(of: bits.littleEndian, toByteOffset: i &* 4, as: UInt32.self)
        }
    }

    /// The bit-by-bit definition of `split`.
    static func splitReference(
        _ source: UnsafeRawBufferPointer, count: Int, format: FloatFormat, keptBits: Int,
        exponents: UnsafeMutableBufferPointer<UInt8>, residuals: UnsafeMutableRawBufferPointer
    ) {
        let m = UInt32(format.mantissaBits)
        let exponentMask = UInt32((1 << format.exponentBits) - 1)
        let width = 1 + keptBits
        var accumulator: UInt64 = 0
        var pending = 0
        var out = 0
        for i in 0..<count {
            let bits = format.load(source, i)
            exponents[i] = UInt8(truncatingIfNeeded: (bits >> m) & exponentMask)
            accumulator |= UInt64(residual(bits, format, keptBits)) << UInt64(pending)
            pending += width
            while pending >= 8 {
                residuals[out] = UInt8(truncatingIfNeeded: accumulator)
                out += 1
                accumulator >>= 8
                pending -= 8
            }
        }
        if pending > 0 { residuals[out] = UInt8(truncatingIfNeeded: accumulator) }
    }

    /// Rebuilds `count` elements into `destination` from `exponents` and packed `residuals`.
    static func merge(
        exponents: UnsafeBufferPointer<UInt8>, residuals: UnsafeRawBufferPointer, count: Int, format: FloatFormat,
        keptBits: Int, into destination: UnsafeMutableRawBufferPointer
    ) {
        if format == .bf16 && keptBits == 7 {
            return mergeBF16(exponents: exponents, residuals: residuals, count: count, into: destination)
        }
        if format == .fp32 && keptBits == 23 {
            return mergeFP32(exponents: exponents, residuals: residuals, count: count, into: destination)
        }
        switch 1 + keptBits {
        case 8, 16, 24:
            let width = (1 + keptBits) / 8
            for i in 0..<count {
                var r = UInt32(residuals[i * width])
                if width > 1 { r |= UInt32(residuals[i * width + 1]) << 8 }
                if width > 2 { r |= UInt32(residuals[i * width + 2]) << 16 }
                format.store(join(exponents[i], r, format, keptBits), destination, i)
            }
        default:
            mergeReference(
                exponents: exponents, residuals: residuals, count: count, format: format, keptBits: keptBits,
                into: destination)
        }
    }

    /// The bit-by-bit definition of `merge`.
    static func mergeReference(
        exponents: UnsafeBufferPointer<UInt8>, residuals: UnsafeRawBufferPointer, count: Int, format: FloatFormat,
        keptBits: Int, into destination: UnsafeMutableRawBufferPointer
    ) {
        let width = 1 + keptBits
        let mask = (UInt64(1) << UInt64(width)) - 1
        var accumulator: UInt64 = 0
        var pending = 0
        var next = 0
        for i in 0..<count {
            while pending < width {
                accumulator |= UInt64(residuals[next]) << UInt64(pending)
                next += 1
                pending += 8
            }
            let r = UInt32(accumulator & mask)
            accumulator >>= UInt64(width)
            pending -= width
            format.store(join(exponents[i], r, format, keptBits), destination, i)
        }
    }
}
