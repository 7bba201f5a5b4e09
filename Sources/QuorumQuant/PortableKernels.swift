import QuorumCore
#if !canImport(CQuantKernels)
    import Foundation

    // Plain-Swift stand-ins with the signatures of the `CQuantKernels` C functions, compiled only when
    // that C target is not a dependency (e.g. before the package manifest wires it in). Same sums, one
    // element at a time; see CQuantKernels.h for the contracts.

    func cqk_simd_enabled() -> Int32 { 0 }

    /// Serial stand-in for the C thread pool.
    func cqk_parallel(
        _ task: @convention(c) (UnsafeMutableRawPointer?, Int) -> Void, _ context: UnsafeMutableRawPointer?,
        _ chunks: Int
    ) {
        for chunk in 0..<chunks { task(context, chunk) }
    }

    private func floatGEMM(
        _ x: UnsafePointer<Float>, _ xstride: Int, _ tokens: Int, _ k: Int, _ rows: Range<Int>,
        _ y: UnsafeMutablePointer<Float>, _ ystride: Int, weight: (Int) -> Float
    ) {
        for r in rows {
            for t in 0..<tokens {
                var sum: Float = 0
                for i in 0..<k { sum += weight(r * k + i) * x[t * xstride + i] }
                y[t * ystride + r] = sum
            }
        }
    }

    func cqk_f32_gemm(
        _ x: UnsafePointer<Float>, _ xstride: Int, _ tokens: Int, _ w: UnsafePointer<Float>, _ k: Int, _ rowBegin: Int,
        _ rowEnd: Int, _ y: UnsafeMutablePointer<Float>, _ ystride: Int
    ) {
        floatGEMM(x, xstride, tokens, k, rowBegin..<rowEnd, y, ystride) { w[$0] }
    }

    func cqk_bf16_gemm(
        _ x: UnsafePointer<Float>, _ xstride: Int, _ tokens: Int, _ w: UnsafePointer<UInt16>, _ k: Int, _ rowBegin: Int,
        _ rowEnd: Int, _ y: UnsafeMutablePointer<Float>, _ ystride: Int
    ) {
        floatGEMM(x, xstride, tokens, k, rowBegin..<rowEnd, y, ystride) { BF16.decode(w[$0]) }
    }

    func cqk_e4m3_gemm(
        _ x: UnsafePointer<Float>, _ xstride: Int, _ tokens: Int, _ w: UnsafePointer<UInt8>, _ k: Int, _ rowBegin: Int,
        _ rowEnd: Int, _ y: UnsafeMutablePointer<Float>, _ ystride: Int
    ) {
        floatGEMM(x, xstride, tokens, k, rowBegin..<rowEnd, y, ystride) { E4M3.table[Int(w[$0])] }
    }

    func cqk_quantize_int16_groups(
        _ x: UnsafePointer<Float>, _ n: Int, _ k: Int, _ lo: UnsafeMutablePointer<Int8>,
        _ hi: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>, _ lanes: UnsafeMutablePointer<Int32>,
        _ pairs: UnsafeMutablePointer<Int16>?
    ) {
        for g in 0..<((k + 127) / 128) {
            let range = (g * 128)..<min(g * 128 + 128, k)
            let m = range.reduce(Float(0)) { $1 < n ? max($0, abs(x[$1])) : $0 }
            let inv: Float = m > 0 ? 32767 / m : 0
            scales[g] = m / 32767
            for l in 0..<8 { lanes[8 * g + l] = 0 }
            for i in range {
                let q = i < n ? Int32(min(max((x[i] * inv).rounded(.toNearestOrEven), -32768), 32767)) : 0
                lo[i] = Int8(truncatingIfNeeded: q & 0xff)
                hi[i] = Int8(truncatingIfNeeded: q >> 8)
                lanes[8 * g + (i - g * 128) % 32 / 4] += q
                let e = i % 32, within = e % 4
                pairs?[i - e + (within < 2 ? 0 : 16) + 2 * (e / 4) + within % 2] = Int16(q)
            }
        }
    }

    func cqk_q4_gemm(
        _ xlo: UnsafePointer<Int8>, _ xhi: UnsafePointer<Int8>, _ xpairs: UnsafePointer<Int16>?,
        _ xscales: UnsafePointer<Float>, _ xlanes: UnsafePointer<Int32>, _ tokens: Int, _ w: UnsafePointer<UInt8>,
        _ scales: UnsafePointer<Float>,
        _ groups: Int, _ k: Int, _ rowBegin: Int, _ rowEnd: Int, _ y: UnsafeMutablePointer<Float>, _ ystride: Int
    ) {
        for r in rowBegin..<rowEnd {
            for t in 0..<tokens {
                var total = [Float](repeating: 0, count: 8)
                for g in 0..<groups {
                    var lane = [Int32](repeating: 0, count: 8)
                    for i in (g * 128)..<min(g * 128 + 128, k) {
                        let (block, j) = i.quotientAndRemainder(dividingBy: 64)
                        let byte = w[r * (k / 2) + block * 32 + j % 32]
                        let q = Int32(j < 32 ? byte & 15 : byte >> 4) - 8
                        lane[i % 32 / 4] += q * (Int32(UInt8(bitPattern: xlo[t * k + i])) + 256 * Int32(xhi[t * k + i]))
                    }
                    let scale = scales[r * groups + g] * xscales[t * groups + g]
                    for l in 0..<8 { total[l].addProduct(Float(lane[l]), scale) }
                }
                y[t * ystride + r] =
                    ((total[0] + total[4]) + (total[2] + total[6])) + ((total[1] + total[5]) + (total[3] + total[7]))
            }
        }
    }

    func cqk_f32_to_f16(_ x: UnsafePointer<Float>, _ n: Int, _ out: UnsafeMutablePointer<UInt16>) {
        for i in 0..<n { out[i] = halfBits(x[i]) }
    }

    func cqk_f16_to_f32(_ h: UnsafePointer<UInt16>, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for i in 0..<n { out[i] = halfValue(h[i]) }
    }

    /// Round to nearest even, saturating at ±65 504 (see CQuantKernels.h).
    private func halfBits(_ value: Float) -> UInt16 {
        let f = value.isNaN ? value : min(max(value, -65504), 65504)
        let x = f.bitPattern
        let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
        var ax = x & 0x7fff_ffff
        if ax > 0x7f80_0000 { return sign | 0x7e00 | UInt16(truncatingIfNeeded: (ax >> 13) & 0x3ff) }
        if ax < 0x3880_0000 { return sign | UInt16((abs(f) * 16_777_216).rounded(.toNearestOrEven)) }
        ax += 0xfff + ((ax >> 13) & 1)
        return sign | UInt16(truncatingIfNeeded: (ax - (112 << 23)) >> 13)
    }

    private func halfValue(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let e = UInt32(h >> 10) & 0x1f
        let m = UInt32(h & 0x3ff)
        if e == 0 { return sign * Float(m) * 0x1p-24 }
        let bits = e == 31 ? 0x7f80_0000 | (m << 13) : ((e + 112) << 23) | (m << 13)
        return sign * Float(bitPattern: bits)
    }

    func cqk_attend_f16(
        _ q: UnsafePointer<Float>, _ hd: Int, _ scale: Float, _ k1: UnsafePointer<UInt16>?,
        _ v1: UnsafePointer<UInt16>?, _ n1: Int, _ k2: UnsafePointer<UInt16>, _ v2: UnsafePointer<UInt16>, _ n2: Int,
        _ stride: Int, _ scores: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>
    ) {
        // Widen both parts to fp32, then the fp32 kernel.
        func widen(_ p: UnsafePointer<UInt16>?, _ count: Int) -> [Float] {
            guard let p, count > 0 else { return [0] }
            return (0..<(count - 1) * stride + hd).map { halfValue(p[$0]) }
        }
        let (wk1, wv1, wk2, wv2) = (widen(k1, n1), widen(v1, n1), widen(k2, n2), widen(v2, n2))
        cqk_attend(q, hd, scale, wk1, wv1, n1, wk2, wv2, n2, stride, scores, out)
    }

    func cqk_attend(
        _ q: UnsafePointer<Float>, _ hd: Int, _ scale: Float, _ k1: UnsafePointer<Float>?, _ v1: UnsafePointer<Float>?,
        _ n1: Int, _ k2: UnsafePointer<Float>, _ v2: UnsafePointer<Float>, _ n2: Int, _ stride: Int,
        _ scores: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<Float>
    ) {
        let n = n1 + n2
        func key(_ j: Int) -> UnsafePointer<Float> { j < n1 ? k1! + j * stride : k2 + (j - n1) * stride }
        func value(_ j: Int) -> UnsafePointer<Float> { j < n1 ? v1! + j * stride : v2 + (j - n1) * stride }
        var m = -Float.infinity
        for j in 0..<n {
            scores[j] = (0..<hd).reduce(Float(0)) { $0 + q[$1] * key(j)[$1] } * scale
            m = max(m, scores[j])
        }
        var sum: Float = 0
        for j in 0..<n {
            scores[j] = Float(Foundation.exp(Double(scores[j] - m)))
            sum += scores[j]
        }
        out.update(repeating: 0, count: hd)
        for j in 0..<n {
            let p = scores[j] / sum
            for d in 0..<hd { out[d] += p * value(j)[d] }
        }
    }

    func cqk_s8_gemm(
        _ x: UnsafePointer<Int8>, _ xstride: Int, _ tokens: Int, _ w: UnsafePointer<Int8>, _ k: Int, _ rowBegin: Int,
        _ rowEnd: Int, _ y: UnsafeMutablePointer<Int32>, _ ystride: Int
    ) {
        for r in rowBegin..<rowEnd {
            for t in 0..<tokens {
                var sum: Int32 = 0
                for i in 0..<k { sum += Int32(w[r * k + i]) * Int32(x[t * xstride + i]) }
                y[t * ystride + r] = sum
            }
        }
    }

    func cqk_t2_gemm(
        _ x: UnsafePointer<Int8>, _ xstride: Int, _ tokens: Int, _ xsum: UnsafePointer<Int32>,
        _ w: UnsafePointer<UInt8>,
        _ k: Int, _ rowBegin: Int, _ rowEnd: Int, _ y: UnsafeMutablePointer<Int32>, _ ystride: Int
    ) {
        for r in rowBegin..<rowEnd {
            for t in 0..<tokens {
                var sum: Int32 = 0
                for i in 0..<k {
                    let (block, j) = i.quotientAndRemainder(dividingBy: 128)
                    let code = (w[r * (k / 4) + block * 32 + j % 32] >> UInt8(2 * (j / 32))) & 3
                    if code == 2 {
                        sum += Int32(x[t * xstride + i])
                    } else if code == 0 {
                        sum -= Int32(x[t * xstride + i])
                    }
                }
                y[t * ystride + r] = sum
            }
        }
    }

    func cqk_s8_sparse_gemv(
        _ idx: UnsafePointer<Int32>, _ val: UnsafePointer<Int16>, _ nnz: Int, _ wt: UnsafePointer<Int8>, _ ldw: Int,
        _ colBegin: Int, _ colEnd: Int, _ y: UnsafeMutablePointer<Int32>
    ) {
        for o in colBegin..<colEnd {
            var sum: Int32 = 0
            for p in 0..<nnz { sum += Int32(val[p]) * Int32(wt[Int(idx[p]) * ldw + o]) }
            y[o] = sum
        }
    }

    private func codeSum(_ codes: UnsafeMutablePointer<Int8>, _ n: Int) -> Int32 {
        (0..<n).reduce(Int32(0)) { $0 + Int32(codes[$1]) }
    }

    func cqk_quantize_int8_absmax(
        _ x: UnsafePointer<Float>, _ n: Int, _ eps: Float, _ codes: UnsafeMutablePointer<Int8>,
        _ sum: UnsafeMutablePointer<Int32>
    ) -> Float {
        let scale = Quantize.int8Absmax(UnsafeBufferPointer(start: x, count: n), into: .init(start: codes, count: n))
        sum.pointee = codeSum(codes, n)
        return scale
    }

    func cqk_quantize_int4_absmean(
        _ x: UnsafePointer<Float>, _ n: Int, _ eps: Float, _ sqrt7: Float, _ codes: UnsafeMutablePointer<Int8>,
        _ sum: UnsafeMutablePointer<Int32>
    ) -> Float {
        let scale = Quantize.int4Absmean(UnsafeBufferPointer(start: x, count: n), into: .init(start: codes, count: n))
        sum.pointee = codeSum(codes, n)
        return scale
    }

    func cqk_quantize_top_half_int8(
        _ x: UnsafePointer<Float>, _ n: Int, _ eps: Float, _ scratch: UnsafeMutablePointer<Float>,
        _ codes: UnsafeMutablePointer<Int8>, _ sum: UnsafeMutablePointer<Int32>
    ) -> Float {
        let mask = Quantize.topHalfMask(UnsafeBufferPointer(start: x, count: n))
        for i in 0..<n { scratch[i] = mask[i] ? x[i] : 0 }
        return cqk_quantize_int8_absmax(scratch, n, eps, codes, sum)
    }

    func cqk_quantize_e4m3(_ x: UnsafePointer<Float>, _ n: Int, _ decoded: UnsafeMutablePointer<Float>) -> Float {
        var codes = [UInt8](repeating: 0, count: n)
        let scale = codes.withUnsafeMutableBufferPointer {
            Quantize.e4m3Row(UnsafeBufferPointer(start: x, count: n), into: $0)
        }
        for i in 0..<n { decoded[i] = scale > 0 ? E4M3.table[Int(codes[i])] : 0 }
        return scale
    }
#endif
