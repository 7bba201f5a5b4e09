internal import CQuantKernels

/// Integer kernels over raw codes, each beside its plain scalar reference (the optimised ones call
/// the AVX2 code in `CQuantKernels` on x86-64, a portable loop elsewhere). Shapes: `x` is
/// `tokens × k` row-major, weights `rows × k` row-major; results are `tokens × rows`.
public enum Kernels {
    /// Whether the AVX2/FMA code paths are compiled in.
    public static var simdEnabled: Bool { cqk_simd_enabled() != 0 }

    /// Splits `0..<count` into chunks (multiples of `alignment`; up to four per thread, so a thread
    /// the machine does not schedule in time leaves its share to the others) and runs them on the
    /// kernels' persistent thread pool (`cqk_parallel`) together with the calling thread. Small jobs
    /// (`work` below ~2¹⁸) and `threads` ≤ 1 stay on the calling thread.
    /// Chunks hold at least `minimumChunk` items (8 by default: rows of a matrix product).
    public static func parallel(
        _ count: Int, work: Int, threads: Int, alignment: Int = 1, minimumChunk: Int = 8,
        _ body: (Range<Int>) -> Void
    ) {
        let chunks = min(4 * threads, max(1, count / max(alignment, minimumChunk)))
        guard threads > 1, chunks > 1, work >= 1 << 18 else {
            body(0..<count)
            return
        }
        let per = ((count + chunks - 1) / chunks + alignment - 1) / alignment * alignment
        withoutActuallyEscaping(body) { body in
            var job = ParallelJob(body: body, per: per, count: count)
            withUnsafeMutablePointer(to: &job) { pointer in
                cqk_parallel(
                    { context, chunk in
                        let job = context!.assumingMemoryBound(to: ParallelJob.self)
                        let lower = min(Int(chunk) * job.pointee.per, job.pointee.count)
                        let upper = min((Int(chunk) + 1) * job.pointee.per, job.pointee.count)
                        if lower < upper { job.pointee.body(lower..<upper) }
                    }, pointer, chunks)
            }
        }
    }

    /// Attention of one query row of one head: `out = Σⱼ softmax_j(q·kⱼ · scale) vⱼ` over `count1` keys
    /// and values at `keys1`/`values1` followed by `count2` at `keys2`/`values2` (key j of a part at
    /// `j · stride`), in that order. AVX2 dot products and exponentials (Cephes' `expf` polynomial,
    /// about 1 ulp); `headDim` a multiple of 8; `scores` holds `count1 + count2` floats.
    @inline(__always)
    public static func attend(
        query: UnsafePointer<Float>, headDim: Int, scale: Float, keys1: UnsafePointer<Float>?,
        values1: UnsafePointer<Float>?, count1: Int, keys2: UnsafePointer<Float>, values2: UnsafePointer<Float>,
        count2: Int, stride: Int, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        cqk_attend(query, headDim, scale, keys1, values1, count1, keys2, values2, count2, stride, scores, out)
    }

    /// The same attention over keys and values stored either as fp32 or, with `halfPrecision`, as IEEE
    /// binary16 bits (see ``toHalf(_:count:into:)``) that are widened exactly to fp32 (F16C) before the
    /// same arithmetic; `stride` counts elements.
    @inline(__always)
    public static func attend(
        query: UnsafePointer<Float>, headDim: Int, scale: Float, halfPrecision: Bool, keys1: UnsafeRawPointer?,
        values1: UnsafeRawPointer?, count1: Int, keys2: UnsafeRawPointer, values2: UnsafeRawPointer, count2: Int,
        stride: Int, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        if halfPrecision {
            func half(_ p: UnsafeRawPointer) -> UnsafePointer<UInt16> { p.assumingMemoryBound(to: UInt16.self) }
            cqk_attend_f16(
                query, headDim, scale, keys1.map(half), values1.map(half), count1, half(keys2), half(values2), count2,
                stride, scores, out)
        } else {
            func float(_ p: UnsafeRawPointer) -> UnsafePointer<Float> { p.assumingMemoryBound(to: Float.self) }
            cqk_attend(
                query, headDim, scale, keys1.map(float), values1.map(float), count1, float(keys2), float(values2),
                count2, stride, scores, out)
        }
    }

    /// fp32 to IEEE binary16 bits, rounding to nearest even; magnitudes above 65 504 saturate to
    /// ±65 504 rather than becoming infinite; NaN stays NaN.
    @inline(__always)
    public static func toHalf(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<UInt16>) {
        cqk_f32_to_f16(x, count, out)
    }

    /// IEEE binary16 bits to fp32 (exact).
    @inline(__always)
    public static func fromHalf(_ h: UnsafePointer<UInt16>, count: Int, into out: UnsafeMutablePointer<Float>) {
        cqk_f16_to_f32(h, count, out)
    }

    /// One `parallel` call as the C pool sees it: `cqk_parallel` returns only after every chunk has
    /// run, so the closure and the buffers it captures outlive all uses, and chunks write disjoint rows.
    private struct ParallelJob {
        let body: (Range<Int>) -> Void
        let per: Int
        let count: Int
    }

    // MARK: int8 × int8

    /// Σ w·x in int32 for int8 weights in [−127, 127] and any int8 activations
    /// (`k` padded to a multiple of 32 internally).
    public static func int8GEMM(x: [Int8], tokens: Int, weights: [Int8], rows: Int, k: Int, threads: Int = 2) -> [Int32]
    {
        let stride = (k + 31) / 32 * 32
        let xp = pad(x, rows: tokens, from: k, to: stride)
        let wp = pad(weights, rows: rows, from: k, to: stride)
        var y = [Int32](repeating: 0, count: tokens * rows)
        xp.withUnsafeBufferPointer { xb in
            wp.withUnsafeBufferPointer { wb in
                y.withUnsafeMutableBufferPointer { yb in
                    let (xa, wa, ya) = (xb.baseAddress!, wb.baseAddress!, yb.baseAddress!)
                    parallel(rows, work: tokens * rows * k, threads: threads) { range in
                        cqk_s8_gemm(xa, stride, tokens, wa, stride, range.lowerBound, range.upperBound, ya, rows)
                    }
                }
            }
        }
        return y
    }

    /// Scalar reference for `int8GEMM`.
    public static func int8GEMMReference(x: [Int8], tokens: Int, weights: [Int8], rows: Int, k: Int) -> [Int32] {
        var y = [Int32](repeating: 0, count: tokens * rows)
        for t in 0..<tokens {
            for r in 0..<rows {
                var sum: Int32 = 0
                for i in 0..<k { sum += Int32(weights[r * k + i]) * Int32(x[t * k + i]) }
                y[t * rows + r] = sum
            }
        }
        return y
    }

    // MARK: ternary × int8

    /// Σ t·x in int32 for ternary weights `t ∈ {−1, 0, 1}` (packed 2 bits each internally) and int8
    /// activations (any int8).
    public static func ternaryGEMM(x: [Int8], tokens: Int, weights: [Int8], rows: Int, k: Int, threads: Int = 2)
        -> [Int32]
    {
        let packed = PackedMatrix.packTernary(weights, rows: rows, columns: k)
        let stride = PackedMatrix.stride(k, .ternary2Bit)
        let xp = pad(x, rows: tokens, from: k, to: stride)
        var y = [Int32](repeating: 0, count: tokens * rows)
        let sums = (0..<tokens).map { t in x[(t * k)..<((t + 1) * k)].reduce(Int32(0)) { $0 + Int32($1) } }
        xp.withUnsafeBufferPointer { xb in
            packed.withUnsafeBufferPointer { wb in
                sums.withUnsafeBufferPointer { sb in
                    y.withUnsafeMutableBufferPointer { yb in
                        let (xa, wa, sa, ya) = (xb.baseAddress!, wb.baseAddress!, sb.baseAddress!, yb.baseAddress!)
                        parallel(rows, work: tokens * rows * k, threads: threads) { range in
                            cqk_t2_gemm(
                                xa, stride, tokens, sa, wa, stride, range.lowerBound, range.upperBound, ya, rows)
                        }
                    }
                }
            }
        }
        return y
    }

    /// Scalar reference for `ternaryGEMM`: additions and subtractions only.
    public static func ternaryGEMMReference(x: [Int8], tokens: Int, weights: [Int8], rows: Int, k: Int) -> [Int32] {
        var y = [Int32](repeating: 0, count: tokens * rows)
        for t in 0..<tokens {
            for r in 0..<rows {
                var sum: Int32 = 0
                for i in 0..<k {
                    switch weights[r * k + i] {
                    case 1: sum += Int32(x[t * k + i])
                    case -1: sum -= Int32(x[t * k + i])
                    default: break
                    }
                }
                y[t * rows + r] = sum
            }
        }
        return y
    }

    // MARK: zero skipping

    /// A weight matrix stored column-major for the zero-skipping kernel: one `ldw`-byte int8 column
    /// per input feature (`ldw` = rows rounded up to 16).
    public struct ColumnMajorInt8: Sendable, Hashable {
        /// Output features.
        public let rows: Int
        /// Input features.
        public let columns: Int
        /// Bytes per stored column.
        public let ldw: Int
        /// The transposed codes.
        public let codes: [Int8]

        /// Transposes row-major int8 codes `[rows × columns]`.
        public init(rowMajor weights: [Int8], rows: Int, columns: Int) {
            self.rows = rows
            self.columns = columns
            ldw = (rows + 15) / 16 * 16
            var codes = [Int8](repeating: 0, count: columns * ldw)
            for r in 0..<rows {
                for c in 0..<columns { codes[c * ldw + r] = weights[r * columns + c] }
            }
            self.codes = codes
        }

        /// Bytes stored.
        public var byteCount: Int { codes.count }

        /// Σ w·x over the nonzero entries of each token's `x` (int8 codes) only.
        /// `out` receives `tokens × rows` int32 sums.
        func multiply(
            x: UnsafePointer<Int8>, xstride: Int, tokens: Int, out: UnsafeMutablePointer<Int32>, threads: Int
        ) {
            var index = [Int32](repeating: 0, count: columns + 1)
            var value = [Int16](repeating: 0, count: columns + 1)
            var scratch = [Int32](repeating: 0, count: ldw)
            for t in 0..<tokens {
                var nnz = 0
                for i in 0..<columns where x[t * xstride + i] != 0 {
                    index[nnz] = Int32(i)
                    value[nnz] = Int16(x[t * xstride + i])
                    nnz += 1
                }
                if nnz % 2 == 1 {  // pair the last one with a zero
                    index[nnz] = index[0]
                    value[nnz] = 0
                    nnz += 1
                }
                let count = nnz
                index.withUnsafeBufferPointer { ib in
                    value.withUnsafeBufferPointer { vb in
                        codes.withUnsafeBufferPointer { wb in
                            scratch.withUnsafeMutableBufferPointer { sb in
                                let (ia, va, wa, sa) = (
                                    ib.baseAddress!, vb.baseAddress!, wb.baseAddress!, sb.baseAddress!
                                )
                                parallel(ldw, work: count * ldw, threads: threads, alignment: 64) { range in
                                    cqk_s8_sparse_gemv(ia, va, count, wa, ldw, range.lowerBound, range.upperBound, sa)
                                }
                            }
                        }
                    }
                }
                for r in 0..<rows { out[t * rows + r] = scratch[r] }
            }
        }
    }

    /// Zero-skipping Σ w·x (see `ColumnMajorInt8`); equals `int8GEMMReference` exactly.
    public static func sparseGEMM(x: [Int8], tokens: Int, weights: ColumnMajorInt8, threads: Int = 2) -> [Int32] {
        var y = [Int32](repeating: 0, count: tokens * weights.rows)
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                weights.multiply(
                    x: xb.baseAddress!, xstride: weights.columns, tokens: tokens, out: yb.baseAddress!, threads: threads
                )
            }
        }
        return y
    }

    static func pad<T: Numeric>(_ values: [T], rows: Int, from k: Int, to stride: Int) -> [T] {
        if k == stride { return values }
        var out = [T](repeating: 0, count: rows * stride)
        for r in 0..<rows {
            for i in 0..<k { out[r * stride + i] = values[r * k + i] }
        }
        return out
    }
}
