import QuorumQuant
import Testing
import QuorumCore

@Suite("Quantizers against hand-computed examples")
struct QuantizerTests {
    @Test("absmean ternary: α = mean|W|, codes = clamp(round(W/(α+ε)), −1, 1)")
    func ternaryAbsmean() {
        let w: [Float] = [0.2, -0.5, 0.05, 1.0, -0.1, 0.0, 0.35, -0.9]
        let (codes, alpha) = Quantize.ternaryAbsmean(w)
        // mean|W| = 3.1 / 8 = 0.3875; W/α = 0.52, −1.29, 0.13, 2.58, −0.26, 0, 0.90, −2.32.
        #expect(abs(alpha - 0.3875) < 1e-7)
        #expect(codes == [1, -1, 0, 1, 0, 0, 1, -1])
        let all0 = Quantize.ternaryAbsmean([0, 0, 0])
        #expect(all0.codes == [0, 0, 0] && all0.scale == 0)
    }

    @Test("INT8 absmax: γ = max|x|, codes = clamp(round(127x/(γ+ε)), −128, 127), scale γ/127")
    func int8Absmax() {
        let (codes, scale) = Quantize.int8Absmax([0.5, -1.2, 0.3, 2.0])
        // 127·x/2 = 31.75, −76.2, 19.05, 127 (just below, because of ε).
        #expect(codes == [32, -76, 19, 127])
        #expect(scale == 2.0 / 127)
        // Absmax never produces −128: |127x/(γ+ε)| < 127.
        let negative = Quantize.int8Absmax([-3, 1])
        #expect(negative.codes == [-127, 42])
    }

    @Test("INT4 absmean: β = mean|x|, codes = clamp(round(√7·x/(β+ε)), −8, 7), scale β/√7")
    func int4Absmean() {
        let root7 = Float(7).squareRoot()
        // β = 7.5/4 = 1.875; √7/β = 1.4111: 1.41, −2.82, 0.71, 5.64.
        let (codes, scale) = Quantize.int4Absmean([1.0, -2.0, 0.5, 4.0])
        #expect(codes == [1, -3, 1, 6])
        #expect(abs(scale - 1.875 / root7) < 1e-7)
        // Clipping: β = 2.5, √7·10/2.5 = 10.58 → 7 and −10.58 → −8.
        let clipped = Quantize.int4Absmean([10, 0, 0, 0, 0, 0, 0, -10])
        #expect(clipped.codes == [7, 0, 0, 0, 0, 0, 0, -8])
        #expect(abs(clipped.scale - 2.5 / root7) < 1e-7)
    }

    @Test(
        "top-50 % mask keeps ⌊n/2⌋ largest |x|, ties to the lower index",
        arguments: [
            ([0.1, -3, 2, -2, 0.5, 2] as [Float], [false, true, true, true, false, false]),
            ([1, 2, 3], [false, false, true]),
            ([1, -1, 1, -1], [true, true, false, false]),
            ([0, 0, 5, 0], [true, false, true, false]),
            ([7], [false]),
        ])
    func topHalf(x: [Float], expected: [Bool]) {
        let mask = x.withUnsafeBufferPointer { Quantize.topHalfMask($0) }
        #expect(mask == expected)
        #expect(mask.filter { $0 }.count == x.count / 2)
        #expect(Quantize.topHalfSparsified(x) == zip(x, expected).map { $1 ? $0 : 0 })
    }

    @Test("int8 per output channel: s = max|row|/127")
    func int8PerChannel() {
        let (codes, scales) = Quantize.int8PerChannel([1.27, -0.6, 0.1, 0, 0, 0], rows: 2, columns: 3)
        #expect(scales == [Float(1.27) / 127, 0])
        #expect(codes == [127, -60, 10, 0, 0, 0])
    }

    @Test(
        "W4A16 group rule: 128 per group, last group shorter, short rows one group",
        arguments: [
            (128, 1), (256, 2), (200, 2), (100, 1), (64, 1), (1536, 12), (129, 2),
        ])
    func groupRule(inFeatures: Int, groups: Int) {
        #expect(Quantize.int4GroupCount(inFeatures: inFeatures) == groups)
        let packed = PackedMatrix(
            weights: [Float](repeating: 0.5, count: 3 * inFeatures), outFeatures: 3, inFeatures: inFeatures,
            format: .w4a16Int)
        #expect(packed.groupsPerRow == groups && packed.scales.count == 3 * groups)
    }

    @Test("W4A16 MSE clipping search never does worse than no clipping, and clips outliers")
    func mseSearch() {
        var rng = SeededRandom(seed: 7)
        var w = rng.gaussian(8 * 128)
        w[5] = 9  // an outlier: clipping it should help the other 127 values of its group
        let (codes, scales, groups) = Quantize.int4Groups(w, rows: 8, columns: 128)
        #expect(groups == 1)
        for r in 0..<8 {
            let group = w[(r * 128)..<((r + 1) * 128)]
            var chosen = 0.0
            for i in group.indices {
                let d = Double(w[i] - Float(codes[i]) * scales[r])
                chosen += d * d
            }
            let unclipped = Quantize.int4GroupError(group, ratio: 1).error
            #expect(chosen <= unclipped * (1 + 1e-12))
            #expect(codes[group.indices].allSatisfy { (-8...7).contains($0) })
        }
        let outlierRow = Quantize.int4GroupError(w[0..<128], ratio: 1)
        #expect(scales[0] < outlierRow.scale)  // the search clipped the outlier's row
    }
}

@Suite("BF16 and FP8 E4M3 encodings")
struct FloatFormatTests {
    @Test(
        "E4M3 encode table",
        arguments: [
            (Float(0), UInt8(0x00)), (-0.0, 0x80), (1, 0x38), (-1, 0xb8), (448, 0x7e), (-448, 0xfe), (500, 0x7e),
            (464, 0x7e), (.infinity, 0x7e), (-.infinity, 0xfe), (0x1p-9, 0x01), (0x1p-6, 0x08), (0x7p-9, 0x07),
            (0x1p-10, 0x00),  // half of the smallest subnormal: tie → even (0)
            (0x3p-10, 0x02),  // 1.5 subnormal steps: tie → even (2)
            (1.0625, 0x38),  // halfway between 1 and 1.125: tie → even mantissa 0
            (1.1875, 0x3a),  // halfway between 1.125 and 1.25: tie → even mantissa 2
            (240, 0x77), (0.001, 0x01), (0x1p-12, 0x00), (3.3, 0x45),
        ])
    func e4m3Encode(value: Float, code: UInt8) {
        #expect(E4M3.encode(value) == code)
    }

    @Test("E4M3 NaN, decode values and full round trip")
    func e4m3Decode() {
        #expect(E4M3.encode(.nan) == 0x7f)
        #expect(E4M3.encode(-Float.nan) == 0xff)
        #expect(E4M3.decode(0x7f).isNaN && E4M3.decode(0xff).isNaN)
        #expect(E4M3.decode(0x01) == 0x1p-9)
        #expect(E4M3.decode(0x07) == 0x7p-9)
        #expect(E4M3.decode(0x08) == 0x1p-6)
        #expect(E4M3.decode(0x3a) == 1.25)
        #expect(E4M3.decode(0x7e) == 448)
        #expect(E4M3.decode(0xfe) == -448)
        #expect(E4M3.decode(0x77) == 240)
        for code in 0...255 where code & 0x7f != 0x7f {
            #expect(E4M3.encode(E4M3.decode(UInt8(code))) == UInt8(code))
        }
    }

    @Test("BF16 round to nearest even")
    func bf16() {
        #expect(BF16.encode(1) == 0x3f80)
        #expect(BF16.encode(1 + 0x1p-8) == 0x3f80)  // tie → even
        #expect(BF16.encode(1 + 0x3p-8) == 0x3f82)  // tie → even (up)
        #expect(BF16.encode(1 + 0x1p-8 + 0x1p-20) == 0x3f81)  // above the tie
        #expect(BF16.encode(-2) == 0xc000)
        #expect(BF16.decode(BF16.encode(.nan)).isNaN)
        #expect(BF16.encode(.infinity) == 0x7f80)
        #expect(BF16.decode(0x3f81) == 1 + 0x1p-7)
    }
}

@Suite("AVX2 activation quantizers equal the Swift references")
struct ActivationKernelTests {
    @Test("per-token codes and scales are bit-identical", arguments: [1, 7, 8, 31, 32, 100, 256, 1000])
    func activations(n: Int) {
        var rng = SeededRandom(seed: UInt64(n))
        var x = rng.gaussian(3 * n)
        if n >= 8 {  // ties and zeros for the top-K rule, an exact zero row
            x[1] = 2.5
            x[2] = -2.5
            x[4] = 0
            x[5] = 2e-5  // E4M3 subnormal range after scaling by max/448
            x[6] = -7e-6
        }
        for i in (2 * n)..<(3 * n) { x[i] = i % 3 == 0 ? 1 : 0 }  // a row made of ties
        let w = [Float](repeating: 0.5, count: n)
        for quantizer in ActivationQuantizer.allCases {
            let layer = QuantizedLinear(weights: w, outFeatures: 1, inFeatures: n, format: .ternary(quantizer))
            let fast = layer.quantizedActivations(x)
            var expected: [Float] = []
            for t in 0..<3 {
                let row = Array(x[(t * n)..<((t + 1) * n)])
                let (codes, scale) =
                    switch quantizer {
                    case .int8Absmax: Quantize.int8Absmax(row)
                    case .int4Absmean: Quantize.int4Absmean(row)
                    case .topHalfInt8: Quantize.int8Absmax(Quantize.topHalfSparsified(row))
                    }
                expected += codes.map { Float($0) * scale }
            }
            #expect(fast == expected, "\(quantizer)")
        }
        let fp8 = QuantizedLinear(weights: w, outFeatures: 1, inFeatures: n, format: .w8a8FP).quantizedActivations(x)
        let (codes, scales) = Quantize.e4m3PerRow(x, rows: 3, columns: n)
        #expect(fp8 == codes.indices.map { E4M3.decode(codes[$0]) * scales[$0 / n] })
    }
}
