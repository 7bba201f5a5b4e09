/// NeuZip's lossy step (paper §3.2): keep only the top k mantissa bits, rounding to nearest (ties to
/// even); a round-up that overflows the mantissa carries into the exponent, except that a finite
/// value is never carried into infinity (it is truncated instead). Optional per-block normalisation
/// divides each block by the mantissa of its absolute maximum (stored in 8 bits) so that the
/// largest value survives truncation.
enum LossyRounding {
    /// `bits` rounded to `keptBits` mantissa bits (the dropped bits become zero). `bits` must be finite.
    @inline(__always)
    static func round(_ bits: UInt32, _ format: FloatFormat, keptBits: Int) -> UInt32 {
        let drop = UInt32(format.mantissaBits - keptBits)
        guard drop > 0 else { return bits }
        let sign = bits & format.signBit
        let magnitude = bits & format.magnitudeMask
        let lsb = (magnitude >> drop) & 1
        var rounded = ((magnitude &+ (1 << (drop - 1)) &- 1 &+ lsb) >> drop) << drop
        if rounded >= format.infinityBits { rounded = (magnitude >> drop) << drop }
        return sign | rounded
    }

    /// The 8-bit normaliser of a block whose largest magnitude has raw bits `absmax`: the top 8 bits
    /// of its mantissa, so the divisor is 1 + j/256 ∈ [1, 2).
    @inline(__always)
    static func normaliser(absmax: UInt32, _ format: FloatFormat) -> UInt8 {
        let m = format.mantissaBits
        let mantissa = absmax & ((1 << UInt32(m)) - 1)
        return UInt8(truncatingIfNeeded: m >= 8 ? mantissa >> UInt32(m - 8) : mantissa << UInt32(8 - m))
    }

    /// The divisor that the normaliser byte `j` stands for.
    @inline(__always)
    static func divisor(_ j: UInt8) -> Float { 1 + Float(j) / 256 }

    /// Block-normalised rounding of one element: x / s rounded to the format, then to k mantissa bits.
    @inline(__always)
    static func roundNormalised(_ bits: UInt32, _ format: FloatFormat, keptBits: Int, divisor: Float) -> UInt32 {
        round(format.fromFloat(format.toFloat(bits) / divisor), format, keptBits: keptBits)
    }

    /// The value a normalised element decodes to: q · s rounded to the format.
    @inline(__always)
    static func denormalise(_ bits: UInt32, _ format: FloatFormat, divisor: Float) -> UInt32 {
        format.fromFloat(format.toFloat(bits) * divisor)
    }

    /// Rounds `count` elements of `source` into `out`, block by block when `blockSize` > 0.
    /// Returns the blocks' normaliser bytes and the largest relative error of the decoded values.
    static func roundChunk(
        _ source: UnsafeRawBufferPointer, count: Int, format: FloatFormat, keptBits: Int, blockSize: Int,
        into out: UnsafeMutableRawBufferPointer
    ) -> (normalisers: [UInt8], maxRelativeError: Double) {
        var normalisers: [UInt8] = []
        var maxError = 0.0
        let block = blockSize > 0 ? blockSize : count
        var start = 0
        while start < count {
            let end = min(start + block, count)
            var divisor: Float = 1
            if blockSize > 0 {
                var absmax: UInt32 = 0
                for i in start..<end { absmax = max(absmax, format.load(source, i) & format.magnitudeMask) }
                let j = normaliser(absmax: absmax, format)
                normalisers.append(j)
                divisor = self.divisor(j)
            }
            for i in start..<end {
                let bits = format.load(source, i)
                let q: UInt32
                let decoded: UInt32
                if blockSize > 0 {
                    q = roundNormalised(bits, format, keptBits: keptBits, divisor: divisor)
                    decoded = denormalise(q, format, divisor: divisor)
                } else {
                    q = round(bits, format, keptBits: keptBits)
                    decoded = q
                }
                format.store(q, out, i)
                let x = Double(format.toFloat(bits))
                if x != 0 { maxError = max(maxError, abs(x - Double(format.toFloat(decoded))) / abs(x)) }
            }
            start = end
        }
        return (normalisers, maxError)
    }
}
