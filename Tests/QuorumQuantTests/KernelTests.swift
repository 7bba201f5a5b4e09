import Foundation
import QuorumQuant
import Testing

@Suite("Optimised kernels equal their scalar references")
struct KernelTests {
    static let shapes: [(tokens: Int, rows: Int, k: Int)] = [
        (1, 37, 32), (2, 16, 100), (3, 33, 257), (4, 64, 128), (5, 20, 64), (8, 128, 256), (9, 17, 300),
    ]

    @Test("int8 × int8 → int32 (vpmaddubsw path) is exact", arguments: shapes)
    func int8(shape: (tokens: Int, rows: Int, k: Int)) {
        var rng = SeededRandom(seed: UInt64(shape.k * 31 + shape.tokens))
        let x = rng.int8(shape.tokens * shape.k, in: -128...127)
        let w = rng.int8(shape.rows * shape.k)
        // Extremes: ±127 everywhere is the worst case for vpmaddubsw saturation.
        let edge = [Int8](repeating: 127, count: shape.k), edgeNeg = [Int8](repeating: -127, count: shape.k)
        let fast = Kernels.int8GEMM(x: x, tokens: shape.tokens, weights: w, rows: shape.rows, k: shape.k)
        #expect(fast == Kernels.int8GEMMReference(x: x, tokens: shape.tokens, weights: w, rows: shape.rows, k: shape.k))
        let extreme = Kernels.int8GEMM(x: edgeNeg + edge, tokens: 2, weights: edge + edgeNeg, rows: 2, k: shape.k)
        #expect(
            extreme == [
                Int32(-127 * 127 * shape.k), Int32(127 * 127 * shape.k), Int32(127 * 127 * shape.k),
                Int32(-127 * 127 * shape.k),
            ])
        // x = −128 (|x| = 128 as vpmaddubsw's unsigned operand) against ±127.
        let minX = [Int8](repeating: -128, count: shape.k)
        let most = Kernels.int8GEMM(x: minX, tokens: 1, weights: edge + edgeNeg, rows: 2, k: shape.k)
        #expect(most == [Int32(-128 * 127 * shape.k), Int32(128 * 127 * shape.k)])
    }

    @Test("ternary (2-bit packed) × int8 → int32 is exact", arguments: shapes)
    func ternary(shape: (tokens: Int, rows: Int, k: Int)) {
        var rng = SeededRandom(seed: UInt64(shape.k * 17 + shape.rows))
        let x = rng.int8(shape.tokens * shape.k, in: -128...127)
        let w = rng.int8(shape.rows * shape.k, in: -1...1)
        let fast = Kernels.ternaryGEMM(x: x, tokens: shape.tokens, weights: w, rows: shape.rows, k: shape.k)
        #expect(
            fast == Kernels.ternaryGEMMReference(x: x, tokens: shape.tokens, weights: w, rows: shape.rows, k: shape.k))
        #expect(fast == Kernels.int8GEMMReference(x: x, tokens: shape.tokens, weights: w, rows: shape.rows, k: shape.k))
    }

    @Test("zero-skipping column-major kernel is exact", arguments: [0.0, 0.5, 0.85, 1.0])
    func sparse(zeroFraction: Double) {
        var rng = SeededRandom(seed: 99)
        for (tokens, rows, k) in [(1, 48, 33), (3, 130, 200), (2, 512, 512)] {
            let x = rng.int8(tokens * k, zeroFraction: zeroFraction)
            let w = rng.int8(rows * k)
            let columns = Kernels.ColumnMajorInt8(rowMajor: w, rows: rows, columns: k)
            let fast = Kernels.sparseGEMM(x: x, tokens: tokens, weights: columns)
            #expect(fast == Kernels.int8GEMMReference(x: x, tokens: tokens, weights: w, rows: rows, k: k))
        }
    }

    static let formatShapes: [(QuantFormat, Int, Int, Int)] = QuantFormat.all.flatMap { f in
        [(f, 1, 24, 70), (f, 3, 40, 200), (f, 8, 128, 256), (f, 5, 37, 300)]
    }

    @Test("QuantizedLinear.forward equals forwardReference (exact for integer formats)", arguments: formatShapes)
    func forward(format: QuantFormat, tokens: Int, out: Int, inFeatures: Int) {
        var rng = SeededRandom(seed: UInt64(out * 7 + inFeatures))
        let w = rng.gaussian(out * inFeatures, scale: 0.05)
        let x = rng.gaussian(tokens * inFeatures)
        for zeroSkipping in format.hasIntegerActivations ? [false, true] : [false] {
            var layer = QuantizedLinear(
                weights: w, outFeatures: out, inFeatures: inFeatures, format: format, zeroSkipping: zeroSkipping)
            // Force the zero-skipping kernel for every token.
            if zeroSkipping { (layer.sparseDensityThreshold, layer.batchedSparseDensityThreshold) = (1, 1) }
            var y: [Float] = []
            layer.forward(x: x, into: &y)
            let reference = layer.forwardReference(x: x)
            if format.hasIntegerActivations || format == .w4a16Int {
                // Integer sums (w4a16: exact per group and lane, folded in the kernel's order).
                #expect(y == reference)
            } else {
                // fp32 sums in a different order: |Δ| ≤ 1e-5 · Σ|w·x| (k ≤ 256 terms, u = 6e-8).
                let magnitude = referenceMatMul(
                    layer.dequantized(), layer.quantizedActivations(x), out: out, in: inFeatures
                ).magnitude
                for i in y.indices { #expect(abs(Double(y[i] - reference[i])) <= 1e-5 * magnitude[i] + 1e-7) }
            }
        }
    }
}

extension KernelTests {
    @Test(
        "automatic zero skipping: mixed sparse and dense tokens in one call",
        arguments: [QuantFormat.w8a8Int, .ternary(.int8Absmax)])
    func mixedSparsity(format: QuantFormat) {
        var rng = SeededRandom(seed: 11)
        let (out, n) = (40, 160)
        let layer = QuantizedLinear(
            weights: rng.gaussian(out * n, scale: 0.05), outFeatures: out, inFeatures: n, format: format,
            zeroSkipping: true)
        var x = rng.gaussian(4 * n)
        for i in 0..<n where i % 20 != 0 { x[i] = 0 }  // token 0: 95 % zeros → skipping kernel
        for i in (2 * n)..<(3 * n) where i % 2 == 0 { x[i] = 0 }  // token 2: 50 % zeros → dense kernel
        for tokens in [1, 4] {
            let xs = Array(x[0..<(tokens * n)])
            var y: [Float] = []
            layer.forward(x: xs, into: &y)
            #expect(y == layer.forwardReference(x: xs))
        }
    }
}

@Suite("Packing round trips")
struct PackingTests {
    @Test("int4 and ternary packing return the same codes", arguments: [1, 63, 64, 100, 128, 129, 300])
    func pack(columns: Int) {
        var rng = SeededRandom(seed: UInt64(columns))
        let rows = 3
        let four = rng.int8(rows * columns, in: -8...7)
        let three = rng.int8(rows * columns, in: -1...1)
        let p4 = PackedMatrix(
            layout: .int4Groups, outFeatures: rows, inFeatures: columns,
            groupsPerRow: Quantize.int4GroupCount(inFeatures: columns),
            bytes: PackedMatrix.packInt4(four, rows: rows, columns: columns),
            scales: [Float](repeating: 1, count: rows * Quantize.int4GroupCount(inFeatures: columns)))
        let p3 = PackedMatrix(
            layout: .ternary2Bit, outFeatures: rows, inFeatures: columns,
            bytes: PackedMatrix.packTernary(three, rows: rows, columns: columns), scales: [1])
        #expect(p4.bytes.count == rows * ((columns + 63) / 64 * 32))
        #expect(p3.bytes.count == rows * ((columns + 127) / 128 * 32))
        for r in 0..<rows {
            for c in 0..<columns {
                #expect(p4.code(row: r, column: c) == four[r * columns + c])
                #expect(p3.code(row: r, column: c) == three[r * columns + c])
            }
        }
    }

    @Test("Codable round trip keeps the layer and its outputs", arguments: QuantFormat.all)
    func codable(format: QuantFormat) throws {
        var rng = SeededRandom(seed: 5)
        let w = rng.gaussian(16 * 96, scale: 0.1)
        let layer = QuantizedLinear(weights: w, outFeatures: 16, inFeatures: 96, format: format, zeroSkipping: true)
        let data = try JSONEncoder().encode(layer)
        let back = try JSONDecoder().decode(QuantizedLinear.self, from: data)
        #expect(back.packed == layer.packed && back.format == format)
        #expect((back.columnMajor != nil) == format.hasIntegerActivations)
        let x = rng.gaussian(2 * 96)
        var a: [Float] = [], b: [Float] = []
        layer.forward(x: x, into: &a)
        back.forward(x: x, into: &b)
        #expect(a == b)
    }

    @Test("weight bytes per format (64 × 1536, no padding)")
    func weightBytes() {
        let rows = 64, columns = 1536, n = rows * columns
        let w = [Float](repeating: 0.25, count: n)
        let expected: [(QuantFormat, Int)] = [
            (.fp32, 4 * n), (.bf16, 2 * n), (.w8a8Int, n + 4 * rows), (.w8a8FP, n + 4 * rows),
            (.w4a16Int, n / 2 + 4 * rows * 12), (.ternary(.int8Absmax), n / 4 + 4),
        ]
        for (format, bytes) in expected {
            #expect(
                QuantizedLinear(weights: w, outFeatures: rows, inFeatures: columns, format: format).weightBytes == bytes
            )
        }
    }
}

extension KernelTests {
    @Test("the AVX2 E4M3 weight decode is exact for all 254 finite codes")
    func e4m3Decode() {
        let codes = (0..<256).map { UInt8($0) & 0x7f == 0x7f ? 0 : UInt8($0) }
        let layer = QuantizedLinear(
            packed: PackedMatrix(layout: .e4m3, outFeatures: 2, inFeatures: 128, bytes: codes, scales: [1, 0.5]),
            format: .w8a8FP)
        // One-hot tokens: each output is a single product, so any summation order gives the same bits.
        var x = [Float](repeating: 0, count: 128 * 128)
        for t in 0..<128 { x[t * 128 + t] = 1 }
        var y: [Float] = []
        layer.forward(x: x, into: &y)
        #expect(y == layer.forwardReference(x: x))
        #expect(y[0 * 2 + 1] == E4M3.decode(128) * 0.5 && y[1 * 2] == E4M3.decode(1))
    }
}

extension PackingTests {
    @Test("format names round trip", arguments: QuantFormat.all)
    func names(format: QuantFormat) {
        #expect(QuantFormat(name: format.name) == format)
    }
}

@Suite("W4A16 activations and the attention kernel")
struct W4A16AndAttentionTests {
    @Test(
        "int16 group activations: codes, scales and what the kernel multiplies",
        arguments: [1, 63, 64, 100, 128, 129, 300, 1408])
    func int16Groups(n: Int) {
        var rng = SeededRandom(seed: UInt64(n) * 3 + 1)
        var x = rng.gaussian(2 * n)
        x[0] = 40  // an outlier in the first group of token 0
        if n > 130 { for i in 128..<256 where i < n { x[i] = 0 } }  // an all-zero group
        let layer = QuantizedLinear(
            weights: [Float](repeating: 0.25, count: 3 * n), outFeatures: 3, inFeatures: n, format: .w4a16Int)
        let fast = layer.quantizedActivations(x)
        for t in 0..<2 {
            for start in stride(from: 0, to: n, by: 128) {
                let range = (t * n + start)..<(t * n + min(start + 128, n))
                let m = x[range].reduce(Float(0)) { max($0, abs($1)) }
                let inv: Float = m > 0 ? 32767 / m : 0
                for i in range {
                    let q = (x[i] * inv).rounded(.toNearestOrEven)
                    #expect(abs(q) <= 32767)
                    #expect(fast[i] == q * (m / 32767), "token \(t) element \(i - t * n)")
                    #expect(abs(fast[i] - x[i]) <= m / 65534 + abs(x[i]) * 0x1p-21)  // half a step + fp32 rounding
                }
            }
        }
    }

    @Test("W4A16 kernel: extreme codes and activations, batch invariance")
    func w4a16Extremes() {
        // Large weights of both signs (codes near 0 and 15) against activations at ±max (int16 ±32767),
        // the worst case for the kernel's int16 partial sums.
        let n = 256
        var w = [Float](repeating: 0, count: 4 * n)
        for i in 0..<n {
            w[i] = -8  // row 0: all −8 · s
            w[n + i] = 7
            w[2 * n + i] = i % 2 == 0 ? -8 : 7
            w[3 * n + i] = Float(i % 16 - 8)
        }
        let layer = QuantizedLinear(weights: w, outFeatures: 4, inFeatures: n, format: .w4a16Int)
        var x = [Float](repeating: 1, count: 3 * n)
        for i in 0..<n { x[n + i] = i % 2 == 0 ? -1 : 1 }
        for i in 0..<n { x[2 * n + i] = Float(i % 7) - 3 }
        var y: [Float] = []
        layer.forward(x: x, into: &y)
        #expect(y == layer.forwardReference(x: x))
        let exact = referenceMatMul(layer.dequantized(), layer.quantizedActivations(x), out: 4, in: n)
        for i in y.indices { #expect(abs(Double(y[i]) - exact.y[i]) <= 1e-6 * exact.magnitude[i] + 1e-9) }
        // Each token alone gives the same bits as in the batch of three.
        for t in 0..<3 {
            var single: [Float] = []
            layer.forward(x: Array(x[(t * n)..<((t + 1) * n)]), into: &single)
            #expect(single == Array(y[(t * 4)..<((t + 1) * 4)]))
        }
    }

    @Test(
        "attention kernel equals a Double reference; a prefix split gives identical bits",
        arguments: [1, 7, 8, 33, 160], [64, 8, 12, 20])  // head sizes that are no multiple of 8 take the plain path
    func attention(positions: Int, hd: Int) {
        var rng = SeededRandom(seed: UInt64(positions * 1000 + hd))
        let q = rng.gaussian(hd)
        let keys = rng.gaussian(positions * hd, scale: 2)
        let values = rng.gaussian(positions * hd)
        let scale = 1 / Float(hd).squareRoot()
        var scores = [Float](repeating: 0, count: positions)
        func run(split: Int) -> [Float] {
            var out = [Float](repeating: 0, count: hd)
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    Kernels.attend(
                        query: q, headDim: hd, scale: scale, keys1: k.baseAddress!, values1: v.baseAddress!,
                        count1: split, keys2: k.baseAddress! + split * hd, values2: v.baseAddress! + split * hd,
                        count2: positions - split, stride: hd, scores: &scores, out: &out)
                }
            }
            return out
        }
        let whole = run(split: 0)
        #expect(run(split: positions / 2) == whole)
        #expect(run(split: positions - 1) == whole)
        var s = (0..<positions).map { j in
            (0..<hd).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[j * hd + $1]) } * Double(scale)
        }
        let m = s.max()!
        s = s.map { Foundation.exp($0 - m) }
        let total = s.reduce(0, +)
        for d in 0..<hd {
            let expected = (0..<positions).reduce(0.0) { $0 + s[$1] / total * Double(values[$1 * hd + d]) }
            #expect(abs(Double(whole[d]) - expected) <= 2e-6 * (1 + abs(expected)))
        }
    }

    @Test("binary16 conversions equal Swift's Float16 (round to nearest even, saturating at ±65504)")
    func halfConversions() {
        var rng = SeededRandom(seed: 16)
        var values: [Float] = [
            0, -0.0, 1, -1, 65504, -65504, 65519, 65520, 1e6, -1e6, .infinity, -.infinity, 0x1p-14, 0x1p-24, 0x1p-25,
            0x1.8p-25, 0x1.8p-24, 0x1.ffcp-15, 0x1.ffep-15, 1 + 0x1p-11, 1 + 0x1.8p-11, .leastNonzeroMagnitude,
        ]
        for scale: Float in [1e-6, 1e-3, 1, 100, 3e4] { values += rng.gaussian(203).map { $0 * scale } }
        var half = [UInt16](repeating: 0, count: values.count)
        Kernels.toHalf(values, count: values.count, into: &half)
        for (x, h) in zip(values, half) {
            #expect(h == Float16(min(max(x, -65504), 65504)).bitPattern, "\(x)")
            var one: UInt16 = 0
            Kernels.toHalf([x], count: 1, into: &one)  // the scalar path (vectors take 8 at a time)
            #expect(one == h, "\(x)")
        }
        var nan = [UInt16](repeating: 0, count: 9)
        Kernels.toHalf([Float](repeating: .nan, count: 9), count: 9, into: &nan)
        #expect(nan.allSatisfy { Float16(bitPattern: $0).isNaN })
        // Every binary16 bit pattern widens exactly.
        let all = (0...UInt16.max).map { $0 }
        var wide = [Float](repeating: 0, count: all.count)
        Kernels.fromHalf(all, count: all.count, into: &wide)
        for (h, w) in zip(all, wide) {
            let expected = Float(Float16(bitPattern: h))
            var one: Float = 0
            Kernels.fromHalf([h], count: 1, into: &one)
            #expect(expected.isNaN ? w.isNaN && one.isNaN : w.bitPattern == expected.bitPattern && one == w, "\(h)")
        }
    }

    @Test(
        "attention over binary16 keys and values equals the fp32 kernel on their exact widening",
        arguments: [1, 7, 8, 33, 160], [64, 8, 12])
    func halfAttention(positions: Int, hd: Int) {
        var rng = SeededRandom(seed: UInt64(positions * 77 + hd))
        let q = rng.gaussian(hd)
        var keys = [UInt16](repeating: 0, count: positions * hd)
        var values = keys
        Kernels.toHalf(rng.gaussian(positions * hd, scale: 2), count: keys.count, into: &keys)
        Kernels.toHalf(rng.gaussian(positions * hd), count: values.count, into: &values)
        var wideKeys = [Float](repeating: 0, count: keys.count)
        var wideValues = wideKeys
        Kernels.fromHalf(keys, count: keys.count, into: &wideKeys)
        Kernels.fromHalf(values, count: values.count, into: &wideValues)
        let scale = 1 / Float(hd).squareRoot()
        var scores = [Float](repeating: 0, count: positions)
        var expected = [Float](repeating: 0, count: hd)
        Kernels.attend(
            query: q, headDim: hd, scale: scale, keys1: nil, values1: nil, count1: 0, keys2: wideKeys,
            values2: wideValues, count2: positions, stride: hd, scores: &scores, out: &expected)
        for split in [0, positions / 2, positions - 1] {
            var out = [Float](repeating: 0, count: hd)
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    Kernels.attend(
                        query: q, headDim: hd, scale: scale, halfPrecision: true, keys1: k.baseAddress!,
                        values1: v.baseAddress!, count1: split, keys2: k.baseAddress! + split * hd,
                        values2: v.baseAddress! + split * hd, count2: positions - split, stride: hd, scores: &scores,
                        out: &out)
                }
            }
            #expect(out == expected, "split \(split)")
        }
    }
}
