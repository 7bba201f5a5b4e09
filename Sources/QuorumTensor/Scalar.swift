#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A floating-point element type the numeric code works in: `Float` for training and serving,
/// `Double` for finite-difference checks of the same code paths.
///
/// It bundles the few elementary functions and the BLAS matrix product the kernels need, so that
/// every layer can be written once, generically, and specialised for `Float` by the optimiser.
public protocol TensorScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable {
    /// e^x.
    static func exp(_ x: Self) -> Self
    /// The natural logarithm.
    static func log(_ x: Self) -> Self
    /// The square root.
    static func sqrt(_ x: Self) -> Self
    /// dst[i] = e^(scale·src[i] + shift) over a buffer (vectorised for `Float`); `src` may equal `dst`.
    static func exp(
        _ src: UnsafePointer<Self>, scale: Self, shift: Self, _ dst: UnsafeMutablePointer<Self>, count: Int)
    /// `C = alpha·op(A)·op(B) + beta·C` on row-major matrices, through BLAS (`?gemm`).
    ///
    /// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`, `ldc` are row strides.
    static func blasGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}

extension Float: TensorScalar {
    /// e^x (`expf`).
    public static func exp(_ x: Float) -> Float { expf(x) }
    /// ln x (`logf`).
    public static func log(_ x: Float) -> Float { logf(x) }
    /// √x.
    public static func sqrt(_ x: Float) -> Float { x.squareRoot() }
    /// ``Vector/exp(_:scale:shift:_:count:)``, the 8-lane SIMD exponential.
    public static func exp(
        _ src: UnsafePointer<Float>, scale: Float, shift: Float, _ dst: UnsafeMutablePointer<Float>, count: Int
    ) {
        Vector.exp(src, scale: scale, shift: shift, dst, count: count)
    }
    /// `cblas_sgemm`, row-major.
    public static func blasGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        BLAS.sgemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
            ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

extension Double: TensorScalar {
    /// e^x.
    public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    /// ln x.
    public static func log(_ x: Double) -> Double { Glibc.log(x) }
    /// √x.
    public static func sqrt(_ x: Double) -> Double { x.squareRoot() }
    /// libm's `exp` element by element.
    public static func exp(
        _ src: UnsafePointer<Double>, scale: Double, shift: Double, _ dst: UnsafeMutablePointer<Double>, count: Int
    ) {
        for i in 0..<count { dst[i] = Glibc.exp(src[i] * scale + shift) }
    }
    /// `cblas_dgemm`, row-major.
    public static func blasGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        BLAS.dgemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
            ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}

/// Elementary functions in `Double` for code that computes tables (rotary angles) at full precision.
public enum Math {
    /// cos x.
    public static func cos(_ x: Double) -> Double { Glibc.cos(x) }
    /// sin x.
    public static func sin(_ x: Double) -> Double { Glibc.sin(x) }
    /// x^y.
    public static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
    /// e^x.
    public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    /// ln x.
    public static func log(_ x: Double) -> Double { Glibc.log(x) }
}
