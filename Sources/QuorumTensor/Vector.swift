/// Vector kernels on raw buffers, written with 8-wide SIMD (AVX on x86-64 with `-target-cpu haswell`)
/// and each paired with a scalar reference that tests compare against.
public enum Vector {
    /// Σ a[i]·b[i].
    @inlinable
    public static func dot<T: TensorScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, count n: Int) -> T {
        var acc0 = SIMD8<T>(repeating: 0)
        var acc1 = SIMD8<T>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc0 += load8(a + i) * load8(b + i)
            acc1 += load8(a + i + 8) * load8(b + i + 8)
            i += 16
        }
        while i + 8 <= n {
            acc0 += load8(a + i) * load8(b + i)
            i += 8
        }
        var sum = (acc0 + acc1).sum()
        while i < n {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// The scalar reference of ``dot(_:_:count:)``.
    public static func referenceDot<T: TensorScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, count n: Int) -> T {
        var sum: T = 0
        for i in 0..<n { sum += a[i] * b[i] }
        return sum
    }

    /// y[i] += alpha·x[i].
    @inlinable
    public static func axpy<T: TensorScalar>(
        _ alpha: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count n: Int
    ) {
        let a = SIMD8<T>(repeating: alpha)
        var i = 0
        while i + 8 <= n {
            store8(load8(y + i) + a * load8(x + i), y + i)
            i += 8
        }
        while i < n {
            y[i] += alpha * x[i]
            i += 1
        }
    }

    /// The scalar reference of ``axpy(_:_:_:count:)``.
    public static func referenceAxpy<T: TensorScalar>(
        _ alpha: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count n: Int
    ) {
        for i in 0..<n { y[i] += alpha * x[i] }
    }

    /// Σ x[i].
    @inlinable
    public static func sum<T: TensorScalar>(_ x: UnsafePointer<T>, count n: Int) -> T {
        var acc = SIMD8<T>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc += load8(x + i)
            i += 8
        }
        var total = acc.sum()
        while i < n {
            total += x[i]
            i += 1
        }
        return total
    }

    /// max x[i] (−∞ for an empty range).
    @inlinable
    public static func max<T: TensorScalar>(_ x: UnsafePointer<T>, count n: Int) -> T {
        var acc = SIMD8<T>(repeating: -T.infinity)
        var i = 0
        while i + 8 <= n {
            acc = pointwiseMax(acc, load8(x + i))
            i += 8
        }
        var best = acc.max()
        while i < n {
            best = Swift.max(best, x[i])
            i += 1
        }
        return best
    }

    /// dst[i] = e^(scale·src[i] + shift) in fp32, eight lanes at a time (`src` and `dst` may be the
    /// same buffer). Cephes' `expf` scheme: e^x = 2ⁿ·e^r with n = round(x·log₂e), |r| ≤ ln2/2, e^r by a
    /// degree-6 polynomial; arguments are clamped to [−87.3, 88] (so 2ⁿ stays a normal float), so the result is always finite and
    /// positive. Relative error ≤ 2e-7 against `expf` (tested).
    public static func exp(
        _ src: UnsafePointer<Float>, scale: Float = 1, shift: Float = 0, _ dst: UnsafeMutablePointer<Float>,
        count n: Int
    ) {
        var i = 0
        while i + 8 <= n {
            store8(exp8(load8(src + i) * scale + shift), dst + i)
            i += 8
        }
        if i < n {
            // The tail through a zero-padded vector, so every element takes the same path.
            var tail = SIMD8<Float>(repeating: 0)
            for j in 0..<(n - i) { tail[j] = src[i + j] * scale + shift }
            let result = exp8(tail)
            for j in 0..<(n - i) { dst[i + j] = result[j] }
        }
    }

    /// The scalar reference of ``exp(_:scale:shift:_:count:)`` (libm's `expf`).
    public static func referenceExp(
        _ src: UnsafePointer<Float>, scale: Float = 1, shift: Float = 0, _ dst: UnsafeMutablePointer<Float>,
        count n: Int
    ) {
        for i in 0..<n { dst[i] = Float.exp(src[i] * scale + shift) }
    }

    /// e^x on eight lanes (see ``exp(_:scale:shift:_:count:)``).
    @inline(__always)
    static func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let x = pointwiseMin(pointwiseMax(input, SIMD8(repeating: -87.336_54)), SIMD8(repeating: 88.0))
        let n = (x * 1.442_695_040_888_963_4).rounded(.toNearestOrEven)
        // r = x − n·ln2, with ln2 split in two for accuracy.
        var r = x - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        // 2ⁿ from the exponent bits: adding 1.5·2²³ leaves n + 127 in the low mantissa bits.
        let biased = unsafeBitCast(n + (127 + 12_582_912), to: SIMD8<UInt32>.self) & 0xFF
        let scale = unsafeBitCast(biased &<< 23, to: SIMD8<Float>.self)
        return p * scale
    }

    /// Eight consecutive elements.
    @inlinable @inline(__always)
    static func load8<T: TensorScalar>(_ p: UnsafePointer<T>) -> SIMD8<T> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self)
    }

    /// Eight consecutive elements.
    @inlinable @inline(__always)
    static func load8<T: TensorScalar>(_ p: UnsafeMutablePointer<T>) -> SIMD8<T> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<T>.self)
    }

    /// Writes eight consecutive elements.
    @inlinable @inline(__always)
    static func store8<T: TensorScalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<T>.self)
    }
}
