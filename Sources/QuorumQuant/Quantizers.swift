/// The quantizers of BitNet b1.58 / a4.8 (docs/papers.md §2) and of the practical formats (docs/papers.md §3),
/// as plain functions over `Float` arrays. Rounding is round-half-to-even everywhere (what
/// `torch.round` does in the papers' reference code).
public enum Quantize {
    /// ε in the BitNet formulas (the reference code's 1e-5): keeps an all-zero tensor or token finite.
    public static let epsilon: Float = 1e-5

    // MARK: BitNet b1.58 weights

    /// Absmean ternary quantization (b1.58): α = mean|W| over the whole tensor,
    /// codes = clamp(round(W / (α + ε)), −1, 1), and Wq = α · codes.
    public static func ternaryAbsmean(_ weights: [Float]) -> (codes: [Int8], scale: Float) {
        var sum = 0.0
        for w in weights { sum += Double(w.magnitude) }
        let alpha = weights.isEmpty ? 0 : Float(sum / Double(weights.count))
        let inverse = 1 / (alpha + epsilon)
        let codes = weights.map { w -> Int8 in
            Int8(min(max((w * inverse).rounded(.toNearestOrEven), -1), 1))
        }
        return (codes, alpha)
    }

    // MARK: a4.8 activations (per token)

    /// INT8 absmax (a4.8 / b1.58): γ = max|x|, codes = clamp(round(127·x / (γ + ε)), −128, 127),
    /// dequantized value = (γ / 127) · code. Returns the scale γ / 127.
    @discardableResult
    public static func int8Absmax(
        _ x: UnsafeBufferPointer<Float>, into codes: UnsafeMutableBufferPointer<Int8>
    ) -> Float {
        var gamma: Float = 0
        for v in x { gamma = max(gamma, v.magnitude) }
        let factor = 127 / (gamma + epsilon)
        for i in x.indices {
            codes[i] = Int8(min(max((x[i] * factor).rounded(.toNearestOrEven), -128), 127))
        }
        return gamma / 127
    }

    /// INT4 absmean (a4.8): β = mean|x|, codes = clamp(round(√7·x / (β + ε)), −8, 7),
    /// dequantized value = (β / √7) · code. Returns the scale β / √7.
    @discardableResult
    public static func int4Absmean(
        _ x: UnsafeBufferPointer<Float>, into codes: UnsafeMutableBufferPointer<Int8>
    ) -> Float {
        let beta = x.isEmpty ? 0 : absoluteSum(x) / Float(x.count)
        let factor = root7 / (beta + epsilon)
        for i in x.indices {
            codes[i] = Int8(min(max((x[i] * factor).rounded(.toNearestOrEven), -8), 7))
        }
        return beta / root7
    }

    /// Σ|x| in the fixed order the AVX2 kernel uses: eight interleaved lanes (lane i % 8) combined as
    /// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), then the last n % 8 values in index order.
    static func absoluteSum(_ x: UnsafeBufferPointer<Float>) -> Float {
        var lanes = [Float](repeating: 0, count: 8)
        let body = x.count / 8 * 8
        for i in 0..<body { lanes[i % 8] += x[i].magnitude }
        var sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
        for i in body..<x.count { sum += x[i].magnitude }
        return sum
    }

    /// √7 as the fp32 constant both the Swift and the C quantizers use.
    public static let root7 = Float(7).squareRoot()

    /// The a4.8 top-K sparsifier with K = 50 %: keeps the ⌊n/2⌋ entries of largest |x| and zeroes the
    /// rest. Ties at the threshold keep the lower index first, so exactly ⌊n/2⌋ entries survive
    /// (fewer nonzeros only where the input already had zeros among them).
    public static func topHalfMask(_ x: UnsafeBufferPointer<Float>) -> [Bool] {
        let keep = x.count / 2
        var mask = [Bool](repeating: false, count: x.count)
        guard keep > 0 else { return mask }
        // The keep-th largest magnitude by selection (O(n)), then everything above it, then ties in
        // index order until exactly `keep` are kept.
        var magnitudes = x.map(\.magnitude)
        let threshold = magnitudes.withUnsafeMutableBufferPointer { select($0, kthSmallest: x.count - keep) }
        var kept = 0
        for i in x.indices where x[i].magnitude > threshold {
            mask[i] = true
            kept += 1
        }
        for i in x.indices where kept < keep && x[i].magnitude == threshold {
            mask[i] = true
            kept += 1
        }
        return mask
    }

    /// Hoare's selection: the k-th smallest value (0-based); reorders `a`.
    static func select(_ a: UnsafeMutableBufferPointer<Float>, kthSmallest k: Int) -> Float {
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let (p, q, r) = (a[lo], a[(lo + hi) / 2], a[hi])
            let pivot = max(min(p, q), min(max(p, q), r))  // median of three
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                hi = j
            } else if k >= i {
                lo = i
            } else {
                return a[k]
            }
        }
        return a[k]
    }

    /// Array conveniences for the per-token quantizers (one token).
    public static func int8Absmax(_ x: [Float]) -> (codes: [Int8], scale: Float) {
        var codes = [Int8](repeating: 0, count: x.count)
        let scale = x.withUnsafeBufferPointer { p in codes.withUnsafeMutableBufferPointer { int8Absmax(p, into: $0) } }
        return (codes, scale)
    }

    /// INT4 absmean of one token; see `int4Absmean(_:into:)`.
    public static func int4Absmean(_ x: [Float]) -> (codes: [Int8], scale: Float) {
        var codes = [Int8](repeating: 0, count: x.count)
        let scale = x.withUnsafeBufferPointer { p in codes.withUnsafeMutableBufferPointer { int4Absmean(p, into: $0) } }
        return (codes, scale)
    }

    /// The top-50 % sparsified copy of one token (dropped entries set to 0).
    public static func topHalfSparsified(_ x: [Float]) -> [Float] {
        let mask = x.withUnsafeBufferPointer { topHalfMask($0) }
        return zip(x, mask).map { $1 ? $0 : 0 }
    }

    // MARK: W8A8-INT (per output channel, symmetric)

    /// Symmetric int8 per output channel: s = max|W_row| / 127, codes = clamp(round(W / s), −127, 127).
    /// An all-zero row gets s = 0 and zero codes.
    public static func int8PerChannel(_ weights: [Float], rows: Int, columns: Int) -> (codes: [Int8], scales: [Float]) {
        precondition(weights.count == rows * columns, "weights must hold rows × columns values")
        var codes = [Int8](repeating: 0, count: weights.count)
        var scales = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let row = weights[(r * columns)..<((r + 1) * columns)]
            let top = row.reduce(Float(0)) { max($0, $1.magnitude) }
            let scale = top / 127
            scales[r] = scale
            guard scale > 0 else { continue }
            for (i, w) in zip(row.indices, row) {
                codes[i] = Int8(min(max((w / scale).rounded(.toNearestOrEven), -127), 127))
            }
        }
        return (codes, scales)
    }

    // MARK: W8A8-FP (E4M3)

    /// FP8 E4M3 with one scale per row: s = max|row| / 448, codes = E4M3(x / s) (RNE, saturating).
    /// Used per output channel for weights and per token for activations. A zero row gets s = 0.
    public static func e4m3PerRow(_ values: [Float], rows: Int, columns: Int) -> (codes: [UInt8], scales: [Float]) {
        precondition(values.count == rows * columns, "values must hold rows × columns values")
        var codes = [UInt8](repeating: 0, count: values.count)
        var scales = [Float](repeating: 0, count: rows)
        values.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                for r in 0..<rows {
                    scales[r] = e4m3Row(
                        UnsafeBufferPointer(rebasing: v[(r * columns)..<((r + 1) * columns)]),
                        into: UnsafeMutableBufferPointer(rebasing: c[(r * columns)..<((r + 1) * columns)]))
                }
            }
        }
        return (codes, scales)
    }

    /// One row of `e4m3PerRow`; returns its scale.
    @discardableResult
    static func e4m3Row(_ x: UnsafeBufferPointer<Float>, into codes: UnsafeMutableBufferPointer<UInt8>) -> Float {
        var top: Float = 0
        for v in x { top = max(top, v.magnitude) }
        let scale = top / E4M3.maxValue
        guard scale > 0 else {
            for i in codes.indices { codes[i] = 0 }
            return 0
        }
        for i in x.indices { codes[i] = E4M3.encode(x[i] / scale) }
        return scale
    }

    // MARK: W4A16-INT (groups along the input dimension, MSE-optimal clipping)

    /// The W4A16 group rule: groups of 128 consecutive inputs of a row; when `inFeatures` is not a
    /// multiple of 128 the last group of each row is shorter (the remaining `inFeatures % 128`), and a
    /// row shorter than 128 is a single group. Returns the number of groups per row.
    public static func int4GroupCount(inFeatures: Int, groupSize: Int = int4GroupSize) -> Int {
        (inFeatures + groupSize - 1) / groupSize
    }

    /// Nominal W4A16 group size.
    public static let int4GroupSize = 128

    /// The clip ratios tried by the MSE search: 1.00, 0.99, …, 0.50 (51 candidates).
    public static let int4ClipRatios: [Float] = (0...50).map { 1 - Float($0) / 100 }

    /// Symmetric int4 quantization of one group with scale `s`: codes = clamp(round(w / s), −8, 7).
    @inline(__always)
    static func int4Code(_ w: Float, inverseScale: Float) -> Int8 {
        Int8(min(max((w * inverseScale).rounded(.toNearestOrEven), -8), 7))
    }

    /// Squared error of quantizing `group` with clip ratio `ratio` (scale = ratio · max|w| / 7).
    public static func int4GroupError(_ group: ArraySlice<Float>, ratio: Float) -> (error: Double, scale: Float) {
        let top = group.reduce(Float(0)) { max($0, $1.magnitude) }
        let scale = ratio * top / 7
        guard scale > 0 else { return (0, 0) }
        let inverse = 1 / scale
        var error = 0.0
        for w in group {
            let d = Double(w - Float(int4Code(w, inverseScale: inverse)) * scale)
            error += d * d
        }
        return (error, scale)
    }

    /// W4A16-INT weights: per group (see `int4GroupCount`) the scale s = r · max|w| / 7 with the clip
    /// ratio r from `int4ClipRatios` that minimises Σ (w − s · clamp(round(w/s), −8, 7))² (GPTQ's MSE
    /// clipping search; r = 1 is tried first and kept on ties, so the search never does worse than no
    /// clipping). Returns codes in [−8, 7] (row-major, unpadded) and `rows × groups` scales.
    public static func int4Groups(
        _ weights: [Float], rows: Int, columns: Int, groupSize: Int = int4GroupSize,
        clipRatios: [Float] = int4ClipRatios
    ) -> (codes: [Int8], scales: [Float], groupsPerRow: Int) {
        precondition(weights.count == rows * columns, "weights must hold rows × columns values")
        let groups = int4GroupCount(inFeatures: columns, groupSize: groupSize)
        var codes = [Int8](repeating: 0, count: weights.count)
        var scales = [Float](repeating: 0, count: rows * groups)
        for r in 0..<rows {
            for g in 0..<groups {
                let start = r * columns + g * groupSize
                let end = r * columns + min((g + 1) * groupSize, columns)
                let group = weights[start..<end]
                var best = int4GroupError(group, ratio: 1)
                for ratio in clipRatios where ratio != 1 {
                    let candidate = int4GroupError(group, ratio: ratio)
                    if candidate.error < best.error { best = candidate }
                }
                scales[r * groups + g] = best.scale
                guard best.scale > 0 else { continue }
                let inverse = 1 / best.scale
                for i in start..<end { codes[i] = int4Code(weights[i], inverseScale: inverse) }
            }
        }
        return (codes, scales, groups)
    }
}
