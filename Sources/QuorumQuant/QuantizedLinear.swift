internal import CQuantKernels

/// One quantized linear layer, y = x · Wᵀ: packed weights `[outFeatures × inFeatures]`, the format's
/// activation quantizer, and the fast kernels. Inputs are `tokens` rows of `inFeatures` fp32 values;
/// outputs `tokens` rows of `outFeatures`.
///
/// - Important: `forward` may run its work on the kernels' thread pool (`cqk_parallel`); the
///   value itself is immutable and safe to share.
public struct QuantizedLinear: Sendable, Codable {
    /// The format.
    public let format: QuantFormat
    /// The packed weights.
    public let packed: PackedMatrix
    /// Column-major int8 copy of the weight codes for zero skipping (integer-activation formats only,
    /// when requested); not part of `weightBytes` or of the encoded form.
    public let columnMajor: Kernels.ColumnMajorInt8?
    /// In a single-token call, a token whose fraction of nonzero activation codes is at most this
    /// takes the zero-skipping kernel (when `columnMajor` exists). Measured on 512×1536 and 1536×512
    /// (`quorum bench quant`): skipping wins from about 70 % zeros on (≈1.4–2.7× at 85 %), loses at 50 %.
    public var sparseDensityThreshold: Double = 0.3
    /// The same for calls with several tokens, where the dense kernel shares each weight row across
    /// tokens and skipping pays only at very high sparsity.
    public var batchedSparseDensityThreshold: Double = 0.1

    /// Output features.
    public var outFeatures: Int { packed.outFeatures }
    /// Input features.
    public var inFeatures: Int { packed.inFeatures }
    /// Bytes of packed weights and scales (what a checkpoint stores).
    public var weightBytes: Int { packed.storedBytes }

    /// Quantizes row-major fp32 `weights` `[outFeatures × inFeatures]` to `format`. With
    /// `zeroSkipping`, integer-activation formats also keep a column-major copy for sparse inputs.
    public init(weights: [Float], outFeatures: Int, inFeatures: Int, format: QuantFormat, zeroSkipping: Bool = false) {
        self.init(
            packed: PackedMatrix(weights: weights, outFeatures: outFeatures, inFeatures: inFeatures, format: format),
            format: format, zeroSkipping: zeroSkipping)
    }

    /// Wraps packed weights (e.g. read back from a checkpoint).
    public init(packed: PackedMatrix, format: QuantFormat, zeroSkipping: Bool = false) {
        precondition(
            Self.layout(for: format) == packed.layout, "packed layout \(packed.layout) does not fit \(format.name)")
        self.format = format
        self.packed = packed
        if zeroSkipping && format.hasIntegerActivations {
            var codes = [Int8](repeating: 0, count: packed.outFeatures * packed.inFeatures)
            for r in 0..<packed.outFeatures {
                for c in 0..<packed.inFeatures { codes[r * packed.inFeatures + c] = packed.code(row: r, column: c) }
            }
            columnMajor = Kernels.ColumnMajorInt8(rowMajor: codes, rows: packed.outFeatures, columns: packed.inFeatures)
        } else {
            columnMajor = nil
        }
    }

    /// The packed layout a format uses.
    public static func layout(for format: QuantFormat) -> PackedMatrix.Layout {
        switch format {
        case .fp32: .fp32
        case .bf16: .bf16
        case .w8a8Int: .int8
        case .w8a8FP: .e4m3
        case .w4a16Int: .int4Groups
        case .ternary: .ternary2Bit
        }
    }

    private enum CodingKeys: String, CodingKey {
        case format, packed, zeroSkipping, sparseDensityThreshold, batchedSparseDensityThreshold
    }

    /// Decodes the format and packed weights; rebuilds the zero-skipping copy when it was present.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            packed: try c.decode(PackedMatrix.self, forKey: .packed),
            format: try c.decode(QuantFormat.self, forKey: .format),
            zeroSkipping: try c.decode(Bool.self, forKey: .zeroSkipping))
        sparseDensityThreshold = try c.decode(Double.self, forKey: .sparseDensityThreshold)
        batchedSparseDensityThreshold = try c.decode(Double.self, forKey: .batchedSparseDensityThreshold)
    }

    /// Encodes the format, packed weights and whether zero skipping is on.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(packed, forKey: .packed)
        try c.encode(columnMajor != nil, forKey: .zeroSkipping)
        try c.encode(sparseDensityThreshold, forKey: .sparseDensityThreshold)
        try c.encode(batchedSparseDensityThreshold, forKey: .batchedSparseDensityThreshold)
    }

    /// The weights as the format represents them (row-major fp32).
    public func dequantized() -> [Float] { packed.dequantized() }

    // MARK: activations

    /// Activations prepared for the kernels: padded to `packed.rowStride`, quantized per token.
    struct Activations {
        /// fp32 rows (fp32 / bf16 / w4a16: the input; w8a8-fp: E4M3-rounded codes, decoded).
        var floats: [Float] = []
        /// int8 codes (w8a8 and ternary formats).
        var codes: [Int8] = []
        /// Per-token scales (1 when unused).
        var scales: [Float]
        /// Per-token sums of the codes (ternary kernel).
        var sums: [Int32] = []
        /// W4A16: per token, int16 codes per group of 128 as low / high byte planes (`rowStride` each)…
        var low: [Int8] = []
        var high: [Int8] = []
        /// …the groups' scales (`groupsPerRow` per token) and eight lane sums of the codes per group;
        /// with several tokens also the codes whole, in the kernel's lane order (`rowStride` each).
        var groupScales: [Float] = []
        var laneSums: [Int32] = []
        var pairs: [Int16] = []
    }

    /// Applies the format's per-token activation quantizer (shared by the fast and reference paths).
    func prepare(_ x: UnsafeBufferPointer<Float>, tokens: Int, wantFloats: Bool = true) -> Activations {
        let n = inFeatures, stride = packed.rowStride
        var a = Activations(scales: [Float](repeating: 1, count: tokens))
        switch format {
        case .fp32, .bf16:
            a.floats = [Float](repeating: 0, count: tokens * stride)
            for t in 0..<tokens {
                for i in 0..<n { a.floats[t * stride + i] = x[t * n + i] }
            }
        case .w4a16Int:
            // 16-bit activations as int16 codes with one absmax scale per group of 128 (see
            // `Quantize.int16Groups`); `floats` holds their values for the reference path.
            let groups = packed.groupsPerRow
            var low = [Int8](repeating: 0, count: tokens * stride)
            var high = low
            var scales = [Float](repeating: 0, count: tokens * groups)
            var lanes = [Int32](repeating: 0, count: tokens * groups * 8)
            var pairs = [Int16](repeating: 0, count: tokens > 1 ? tokens * stride : 0)
            low.withUnsafeMutableBufferPointer { lo in
                high.withUnsafeMutableBufferPointer { hi in
                    scales.withUnsafeMutableBufferPointer { sc in
                        lanes.withUnsafeMutableBufferPointer { ln in
                            pairs.withUnsafeMutableBufferPointer { pr in
                                for t in 0..<tokens {
                                    cqk_quantize_int16_groups(
                                        x.baseAddress! + t * n, n, stride, lo.baseAddress! + t * stride,
                                        hi.baseAddress! + t * stride, sc.baseAddress! + t * groups,
                                        ln.baseAddress! + t * groups * 8,
                                        pr.isEmpty ? nil : pr.baseAddress! + t * stride)
                                }
                            }
                        }
                    }
                }
            }
            if wantFloats {
                a.floats = [Float](repeating: 0, count: tokens * stride)
                for t in 0..<tokens {
                    for i in 0..<stride {
                        let code = Int32(UInt8(bitPattern: low[t * stride + i])) + 256 * Int32(high[t * stride + i])
                        a.floats[t * stride + i] = Float(code) * scales[t * groups + i / Quantize.int4GroupSize]
                    }
                }
            }
            (a.low, a.high, a.groupScales, a.laneSums, a.pairs) = (low, high, scales, lanes, pairs)
        case .w8a8FP:
            // Per-token E4M3 (docs/papers.md §3, W8A8-FP), AVX2 version of `Quantize.e4m3PerRow` + decode.
            var floats = [Float](repeating: 0, count: tokens * stride)
            var scales = [Float](repeating: 1, count: tokens)
            floats.withUnsafeMutableBufferPointer { f in
                for t in 0..<tokens {
                    scales[t] = cqk_quantize_e4m3(x.baseAddress! + t * n, n, f.baseAddress! + t * stride)
                }
            }
            (a.floats, a.scales) = (floats, scales)
        case .w8a8Int, .ternary:
            var allCodes = [Int8](repeating: 0, count: tokens * stride)
            var allSums = [Int32](repeating: 0, count: tokens)
            var scales = [Float](repeating: 1, count: tokens)
            var scratch = [Float](repeating: 0, count: 2 * n)  // top-50 %: sparsified row + selection buffer
            allCodes.withUnsafeMutableBufferPointer { codes in
                allSums.withUnsafeMutableBufferPointer { sums in
                    scratch.withUnsafeMutableBufferPointer { scratch in
                        for t in 0..<tokens {
                            let row = x.baseAddress! + t * n
                            let out = codes.baseAddress! + t * stride
                            let sum = sums.baseAddress! + t
                            // Per-token quantizers (docs/papers.md §2), AVX2 versions of `Quantize.*`.
                            switch format {
                            case .ternary(.int4Absmean):
                                scales[t] = cqk_quantize_int4_absmean(
                                    row, n, Quantize.epsilon, Quantize.root7, out, sum)
                            case .ternary(.topHalfInt8):
                                scales[t] = cqk_quantize_top_half_int8(
                                    row, n, Quantize.epsilon, scratch.baseAddress!, out, sum)
                            default:
                                scales[t] = cqk_quantize_int8_absmax(row, n, Quantize.epsilon, out, sum)
                            }
                        }
                    }
                }
            }
            (a.codes, a.sums, a.scales) = (allCodes, allSums, scales)
        }
        return a
    }

    // MARK: forward

    /// y = quantize(x) · Wqᵀ with the fast kernels. `x` holds `tokens × inFeatures` values, `output`
    /// receives `tokens × outFeatures`. Uses up to `threads` threads over output rows.
    public func forward(x: [Float], into output: inout [Float], threads: Int = 2) {
        precondition(x.count % inFeatures == 0, "x must hold whole rows of inFeatures values")
        let tokens = x.count / inFeatures
        if output.count != tokens * outFeatures { output = [Float](repeating: 0, count: tokens * outFeatures) }
        x.withUnsafeBufferPointer { xb in
            output.withUnsafeMutableBufferPointer { forward(x: xb, tokens: tokens, into: $0, threads: threads) }
        }
    }

    /// Pointer form of `forward(x:into:threads:)`; `output` must hold `tokens × outFeatures` values.
    public func forward(
        x: UnsafeBufferPointer<Float>, tokens: Int, into output: UnsafeMutableBufferPointer<Float>, threads: Int = 2
    ) {
        precondition(x.count >= tokens * inFeatures && output.count >= tokens * outFeatures, "buffer too small")
        guard tokens > 0, outFeatures > 0 else { return }
        let a = prepare(x, tokens: tokens, wantFloats: false)
        let rows = outFeatures, k = packed.rowStride, work = tokens * rows * k
        let y = output.baseAddress!
        packed.bytes.withUnsafeBytes { wbytes in
            let w = wbytes.baseAddress!
            switch format {
            case .w4a16Int:
                a.low.withUnsafeBufferPointer { lo in
                    a.high.withUnsafeBufferPointer { hi in
                        a.groupScales.withUnsafeBufferPointer { xs in
                            a.laneSums.withUnsafeBufferPointer { ln in
                                a.pairs.withUnsafeBufferPointer { pr in
                                    packed.scales.withUnsafeBufferPointer { sb in
                                        let (la, ha, pra, xsa, lna, sa) = (
                                            lo.baseAddress!, hi.baseAddress!, pr.isEmpty ? nil : pr.baseAddress,
                                            xs.baseAddress!, ln.baseAddress!, sb.baseAddress!
                                        )
                                        let groups = packed.groupsPerRow
                                        // Chunks of whole row triples (the single-token kernel blocks 3
                                        // rows) or pairs (the several-token one blocks 2).
                                        Kernels.parallel(
                                            rows, work: work, threads: threads, alignment: tokens == 1 ? 3 : 2
                                        ) { range in
                                            cqk_q4_gemm(
                                                la, ha, pra, xsa, lna, tokens, w.assumingMemoryBound(to: UInt8.self),
                                                sa, groups, k, range.lowerBound, range.upperBound, y, rows)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            case .fp32, .bf16, .w8a8FP:
                a.floats.withUnsafeBufferPointer { xb in
                    let xa = xb.baseAddress!
                    do {
                        Kernels.parallel(rows, work: work, threads: threads) { range in
                            let (lo, hi) = (range.lowerBound, range.upperBound)
                            switch format {
                            case .fp32:
                                cqk_f32_gemm(xa, k, tokens, w.assumingMemoryBound(to: Float.self), k, lo, hi, y, rows)
                            case .bf16:
                                cqk_bf16_gemm(xa, k, tokens, w.assumingMemoryBound(to: UInt16.self), k, lo, hi, y, rows)
                            default:
                                cqk_e4m3_gemm(xa, k, tokens, w.assumingMemoryBound(to: UInt8.self), k, lo, hi, y, rows)
                            }
                        }
                    }
                }
                if format == .w8a8FP {
                    for t in 0..<tokens {
                        for r in 0..<rows { y[t * rows + r] = y[t * rows + r] * packed.scales[r] * a.scales[t] }
                    }
                }
            case .w8a8Int, .ternary:
                var acc = [Int32](repeating: 0, count: tokens * rows)
                a.codes.withUnsafeBufferPointer { xb in
                    acc.withUnsafeMutableBufferPointer { accb in
                        let (xa, ya) = (xb.baseAddress!, accb.baseAddress!)
                        // Dense tokens go through the row kernels; sparse ones (if enabled) skip zeros.
                        var dense: [Int] = []
                        let threshold = tokens == 1 ? sparseDensityThreshold : batchedSparseDensityThreshold
                        for t in 0..<tokens {
                            if let columnMajor, density(xa + t * k, count: inFeatures) <= threshold {
                                columnMajor.multiply(
                                    x: xa + t * k, xstride: k, tokens: 1, out: ya + t * rows, threads: threads)
                            } else {
                                dense.append(t)
                            }
                        }
                        if dense.count == tokens {
                            denseInteger(xa, tokens: tokens, sums: a.sums, w: w, into: ya, threads: threads)
                        } else {
                            for t in dense {
                                denseInteger(
                                    xa + t * k, tokens: 1, sums: [a.sums[t]], w: w, into: ya + t * rows,
                                    threads: threads)
                            }
                        }
                    }
                }
                let weightScale = format == .w8a8Int ? nil : packed.scales[0]
                for t in 0..<tokens {
                    for r in 0..<rows {
                        y[t * rows + r] = Float(acc[t * rows + r]) * (weightScale ?? packed.scales[r]) * a.scales[t]
                    }
                }
            }
        }
    }

    private func density(_ codes: UnsafePointer<Int8>, count: Int) -> Double {
        var nonzero = 0
        for i in 0..<count where codes[i] != 0 { nonzero += 1 }
        return Double(nonzero) / Double(max(count, 1))
    }

    private func denseInteger(
        _ x: UnsafePointer<Int8>, tokens: Int, sums: [Int32], w: UnsafeRawPointer, into y: UnsafeMutablePointer<Int32>,
        threads: Int
    ) {
        let rows = outFeatures, k = packed.rowStride
        sums.withUnsafeBufferPointer { sb in
            let sa = sb.baseAddress!
            // Chunks of whole row pairs for the int8 kernel (it blocks 2 rows when there are several tokens).
            let pairs = format == .w8a8Int && tokens > 1
            Kernels.parallel(rows, work: tokens * rows * k, threads: threads, alignment: pairs ? 2 : 1) { range in
                if format == .w8a8Int {
                    cqk_s8_gemm(
                        x, k, tokens, w.assumingMemoryBound(to: Int8.self), k, range.lowerBound, range.upperBound, y,
                        rows)
                } else {
                    cqk_t2_gemm(
                        x, k, tokens, sa, w.assumingMemoryBound(to: UInt8.self), k, range.lowerBound, range.upperBound,
                        y, rows)
                }
            }
        }
    }

    /// The same computation with plain scalar loops: identical activation quantization, integer sums
    /// (exactly equal to `forward` for w8a8 and ternary), or fp32 sums in index order.
    public func forwardReference(x: [Float]) -> [Float] {
        let tokens = x.count / inFeatures, rows = outFeatures, n = inFeatures, stride = packed.rowStride
        let a = x.withUnsafeBufferPointer { prepare($0, tokens: tokens) }
        var y = [Float](repeating: 0, count: tokens * rows)
        for t in 0..<tokens {
            for r in 0..<rows {
                switch format {
                case .w8a8Int, .ternary:
                    var sum: Int32 = 0
                    for i in 0..<n { sum += Int32(packed.code(row: r, column: i)) * Int32(a.codes[t * stride + i]) }
                    y[t * rows + r] = Float(sum) * packed.scale(row: r, column: 0) * a.scales[t]
                case .w8a8FP:
                    var sum: Float = 0
                    for i in 0..<n { sum += packed.unscaled(row: r, column: i) * a.floats[t * stride + i] }
                    y[t * rows + r] = sum * packed.scales[r] * a.scales[t]
                case .w4a16Int:
                    // Exact integer sums per group and lane (elements 4L..4L+3 of each 32-element
                    // vector), folded into eight fp32 lanes group by group, then the kernels' fixed
                    // lane order: the fast kernel's arithmetic, so the two agree bit for bit.
                    let groups = packed.groupsPerRow
                    var total = [Float](repeating: 0, count: 8)
                    for g in 0..<groups {
                        var lane = [Int32](repeating: 0, count: 8)
                        for i in (g * Quantize.int4GroupSize)..<min((g + 1) * Quantize.int4GroupSize, stride) {
                            let x16 =
                                Int32(UInt8(bitPattern: a.low[t * stride + i])) + 256 * Int32(a.high[t * stride + i])
                            let q = i < n ? Int32(packed.code(row: r, column: i)) : 0
                            lane[(i % 32) / 4] += q * x16
                        }
                        let scale = packed.scales[r * groups + g] * a.groupScales[t * groups + g]
                        for l in 0..<8 { total[l].addProduct(Float(lane[l]), scale) }  // fused, as the kernel's FMA
                    }
                    let even = (total[0] + total[4]) + (total[2] + total[6])
                    y[t * rows + r] = even + ((total[1] + total[5]) + (total[3] + total[7]))
                case .fp32, .bf16:
                    var sum: Float = 0
                    for i in 0..<n {
                        sum +=
                            packed.unscaled(row: r, column: i) * packed.scale(row: r, column: i)
                            * a.floats[t * stride + i]
                    }
                    y[t * rows + r] = sum
                }
            }
        }
        return y
    }

    /// The activations as the format quantizes them, dequantized (fp32 `tokens × inFeatures`):
    /// what the layer actually multiplies. Useful for error bounds.
    public func quantizedActivations(_ x: [Float]) -> [Float] {
        let tokens = x.count / inFeatures, n = inFeatures, stride = packed.rowStride
        let a = x.withUnsafeBufferPointer { prepare($0, tokens: tokens) }
        var out = [Float](repeating: 0, count: x.count)
        for t in 0..<tokens {
            for i in 0..<n {
                out[t * n + i] =
                    a.codes.isEmpty
                    ? a.floats[t * stride + i] * a.scales[t] : Float(a.codes[t * stride + i]) * a.scales[t]
            }
        }
        return out
    }
}
