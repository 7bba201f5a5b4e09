import SafeTensors
import Testing

@testable import NeuZip
import QuorumCore

@Suite("Float splitting")
struct FloatSplitTests {
    @Test("fast split/merge agree with the bit-by-bit reference and invert exactly", arguments: FloatFormat.allCases)
    func agreesWithReference(format: FloatFormat) {
        let bits = TestData.adversarial(format, count: 1001, seed: 7)
        let source = TestData.bytes(bits: bits, format)
        for k in Set([0, 1, 3, 7, format.mantissaBits]) {
            let n = bits.count
            var e1 = [UInt8](repeating: 0, count: n), e2 = e1
            var r1 = [UInt8](repeating: 0, count: FloatSplit.residualByteCount(count: n, keptBits: k)), r2 = r1
            source.withUnsafeBytes { src in
                e1.withUnsafeMutableBufferPointer { e in
                    r1.withUnsafeMutableBytes {
                        FloatSplit.split(src, count: n, format: format, keptBits: k, exponents: e, residuals: $0)
                    }
                }
                e2.withUnsafeMutableBufferPointer { e in
                    r2.withUnsafeMutableBytes {
                        FloatSplit.splitReference(
                            src, count: n, format: format, keptBits: k, exponents: e, residuals: $0)
                    }
                }
            }
            #expect(e1 == e2 && r1 == r2, "split k=\(k)")
            var out1 = [UInt8](repeating: 0, count: source.count), out2 = out1
            e1.withUnsafeBufferPointer { e in
                r1.withUnsafeBytes { r in
                    out1.withUnsafeMutableBytes {
                        FloatSplit.merge(exponents: e, residuals: r, count: n, format: format, keptBits: k, into: $0)
                    }
                    out2.withUnsafeMutableBytes {
                        FloatSplit.mergeReference(
                            exponents: e, residuals: r, count: n, format: format, keptBits: k, into: $0)
                    }
                }
            }
            #expect(out1 == out2, "merge k=\(k)")
            // Merging gives back the input with the dropped mantissa bits cleared.
            let dropMask = ~((UInt32(1) << UInt32(format.mantissaBits - k)) - 1)
            #expect(TestData.bits(out1, format) == bits.map { $0 & dropMask })
        }
    }
}

@Suite("rANS coder")
struct RANSTests {
    static func roundTrip(_ symbols: [UInt8]) throws -> [UInt8] {
        let encoded = symbols.withUnsafeBufferPointer { ExponentCoder.encode($0, counts: ExponentCoder.histogram($0)) }
        var decoded = [UInt8](repeating: 0, count: symbols.count)
        try encoded.withUnsafeBytes { bytes in
            try decoded.withUnsafeMutableBufferPointer {
                try ExponentCoder.decode(bytes, count: symbols.count, into: $0)
            }
        }
        #expect(decoded == symbols)
        return encoded
    }

    @Test("empty input, one symbol, constant runs")
    func degenerate() throws {
        _ = try Self.roundTrip([])
        #expect(try Self.roundTrip([42]) == [ExponentCoder.Codec.constant.rawValue, 42])
        #expect(try Self.roundTrip([UInt8](repeating: 9, count: 70_000)).count == 2)
    }

    @Test("all 256 symbols, uniform and incompressible data falls back to raw")
    func uniform() throws {
        var rng = SplitMix64(seed: 1)
        let all = (0..<256).map { UInt8($0) }
        let allEncoded = try Self.roundTrip(all)
        #expect(allEncoded.first == ExponentCoder.Codec.raw.rawValue)
        let noise = (0..<50_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let encoded = try Self.roundTrip(noise)
        #expect(encoded.first == ExponentCoder.Codec.raw.rawValue)
        #expect(encoded.count == noise.count + 1)
    }

    @Test("skewed data codes within 1 % of its entropy", arguments: [2, 3, 5, 17, 40])
    func skewed(alphabet: Int) throws {
        var rng = SplitMix64(seed: UInt64(alphabet))
        // Geometric-like distribution over `alphabet` symbols.
        let symbols = (0..<60_000).map { _ -> UInt8 in
            var s = 0
            while s < alphabet - 1 && rng.next() % 3 != 0 { s += 1 }
            return UInt8(100 + s)
        }
        let encoded = try Self.roundTrip(symbols)
        #expect(encoded.first == ExponentCoder.Codec.rans.rawValue)
        let entropyBytes =
            FrequencyTable.entropy(of: symbols.withUnsafeBufferPointer { ExponentCoder.histogram($0) })
            * Double(symbols.count) / 8
        let table = 1 + 3 * alphabet + 1
        #expect(Double(encoded.count) <= entropyBytes * 1.01 + Double(table) + 16 + 8)
    }

    @Test("interleaved coder and single-state reference decode to the same symbols")
    func agreesWithReference() throws {
        var rng = SplitMix64(seed: 5)
        for n in [1, 2, 3, 4, 5, 7, 8, 1000, 4099] {
            let symbols = (0..<n).map { _ in UInt8(120 + Int(rng.next() % 6) * Int(rng.next() % 2)) }
            var counts = symbols.withUnsafeBufferPointer { ExponentCoder.histogram($0) }
            if counts.filter({ $0 > 0 }).count < 2 { counts[0] += 1 }
            let table = FrequencyTable(counts: counts)
            let reference = RANS.encodeReference(symbols, table: table)
            #expect(RANS.decodeReference(reference, table: table, count: n) == symbols)
            let fast = symbols.withUnsafeBufferPointer { RANS.encode($0, table: table) }
            var decoded = [UInt8](repeating: 0, count: n)
            try fast.withUnsafeBytes { s in
                try decoded.withUnsafeMutableBufferPointer { try RANS.decode(s, table: table, count: n, into: $0) }
            }
            #expect(decoded == symbols)
            // Interleaving costs only the three extra states.
            #expect(fast.count <= reference.count + 12 + 8)
        }
    }

    @Test("normalised tables sum to 4096 and keep every present symbol")
    func tableNormalisation() {
        var counts = [Int](repeating: 0, count: 256)
        counts[0] = 1_000_000
        for s in 1..<256 { counts[s] = 1 }
        let table = FrequencyTable(counts: counts)
        #expect(table.frequencies.reduce(0, +) == 4096)
        #expect(table.frequencies.allSatisfy { $0 >= 1 })
    }

    @Test("garbage streams and tables throw instead of crashing")
    func garbage() {
        var rng = SplitMix64(seed: 9)
        for trial in 0..<300 {
            var bytes = (0..<(trial % 40 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            bytes[0] = UInt8(trial % 4)
            var out = [UInt8](repeating: 0, count: 64)
            _ = try? bytes.withUnsafeBytes { b in
                try out.withUnsafeMutableBufferPointer { try ExponentCoder.decode(b, count: 64, into: $0) }
            }
        }
    }
}

@Suite("Lossless and lossy tensor coding")
struct TensorCodecTests {
    /// Compresses one tensor in memory and reads it back.
    static func roundTrip(
        _ bytes: [UInt8], dtype: DType, shape: [Int], mode: CompressionMode, chunk: Int = 65_536, threads: Int = 0
    ) throws -> (TensorRecord, [UInt8]) {
        let writer = try CheckpointWriter()
        writer.elementsPerChunk = chunk
        writer.threads = threads
        try writer.add(name: "t", dtype: dtype, shape: shape, bytes: bytes, mode: mode)
        try writer.finish()
        let reader = try CheckpointReader(bytes: writer.bytes)
        try reader.verify()
        let record = try reader.record("t")
        return (record, try reader.read(record).bytes)
    }

    @Test(
        "lossless round trips are bit-exact for random and adversarial tensors",
        arguments: FloatFormat.allCases, [0, 1, 2, 3, 1000, 40_000])
    func lossless(format: FloatFormat, count: Int) throws {
        let dtype: DType = format == .bf16 ? .bf16 : format == .fp16 ? .f16 : .f32
        let inputs: [[UInt32]] = [
            TestData.gaussian(count, seed: UInt64(count)).map { format.fromFloat($0) },
            TestData.adversarial(format, count: count, seed: UInt64(count) + 1),
            [UInt32](repeating: format.signBit, count: count),  // constant −0
            Array(TestData.specials(format).prefix(count)),
        ]
        for bits in inputs {
            let bytes = TestData.bytes(bits: bits, format)
            let (record, decoded) = try Self.roundTrip(
                bytes, dtype: dtype, shape: [bits.count], mode: .lossless, chunk: 4096)
            #expect(decoded == bytes)
            #expect(record.method == .lossless && record.maxRelativeError == 0)
        }
    }

    @Test("one core and all cores give the same file")
    func parallelMatchesSerial() throws {
        let bytes = TestData.bytes(TestData.gaussian(50_000, seed: 3), .bf16)
        func file(threads: Int) throws -> [UInt8] {
            let writer = try CheckpointWriter()
            writer.elementsPerChunk = 4096
            writer.threads = threads
            try writer.add(name: "w", dtype: .bf16, shape: [50_000], bytes: bytes, mode: .lossless)
            try writer.finish()
            return writer.bytes
        }
        #expect(try file(threads: 1) == file(threads: 0))
    }

    @Test("Gaussian bf16 weights compress near the exponent-entropy bound")
    func nearBound() throws {
        let n = 200_000
        let bytes = TestData.bytes(TestData.gaussian(n, seed: 11), .bf16)
        let (record, decoded) = try Self.roundTrip(bytes, dtype: .bf16, shape: [n], mode: .lossless)
        #expect(decoded == bytes)
        let ideal = Double(n) + Double(n) * record.exponentEntropy / 8
        #expect(Double(record.storedByteCount) <= ideal * 1.005, "stored \(record.storedByteCount), ideal \(ideal)")
        #expect(record.exponentEntropy > 2 && record.exponentEntropy < 3.2)
    }

    /// The worst relative error rounding to k kept bits may cause for `x` (see LossyRounding).
    static func bound(format: FloatFormat, keptBits k: Int, normalised: Bool) -> Double {
        // Round to nearest: half a unit in the k-th place, relative to the leading bit.
        let half = Double(sign: .plus, exponent: -(k + 1), significand: 1)
        guard normalised else { return half * 1.000_001 }
        // Normalisation adds a rounding to the format on the way in and another on the way out.
        let formatHalf = Double(sign: .plus, exponent: -(format.mantissaBits + 1), significand: 1)
        return (half + 2 * formatHalf + 4 * half * formatHalf) * 1.000_001
    }

    @Test(
        "lossy error stays within 2^-(k+1) for every k, with and without block normalisation",
        arguments: FloatFormat.allCases, [0, 512])
    func lossyBounds(format: FloatFormat, block: Int) throws {
        let dtype: DType = format == .bf16 ? .bf16 : format == .fp16 ? .f16 : .f32
        // Normal-range values: subnormals have no leading bit, so a relative bound does not apply to them.
        let values =
            TestData.gaussian(5000, sigma: 0.05, seed: 21).map { abs($0) < 1e-4 ? 0.001 : $0 } + [0, -0.0, 1, -1]
        let bits = values.map { format.fromFloat($0) }
        let bytes = TestData.bytes(bits: bits, format)
        var previousSize = Int.max
        for k in (0...min(format.mantissaBits, 7)).reversed() {
            let (record, decoded) = try Self.roundTrip(
                bytes, dtype: dtype, shape: [bits.count], mode: .lossy(keptBits: k, blockSize: block), chunk: 2048)
            #expect(record.method == .lossy)
            let limit = Self.bound(format: format, keptBits: k, normalised: block > 0)
            var worst = 0.0
            for (x, y) in zip(bits, TestData.bits(decoded, format)) {
                let a = Double(format.toFloat(x)), b = Double(format.toFloat(y))
                #expect(b.isFinite)
                if a == 0 { #expect(b == 0) } else { worst = max(worst, abs(a - b) / abs(a)) }
            }
            #expect(worst <= limit, "k=\(k) block=\(block): \(worst) > \(limit)")
            #expect(
                abs(worst - record.maxRelativeError) <= 1e-12, "reported \(record.maxRelativeError), measured \(worst)")
            #expect(record.storedByteCount <= previousSize)
            previousSize = record.storedByteCount
        }
    }

    @Test("lossy rounding never turns a finite value into infinity", arguments: FloatFormat.allCases)
    func noInfinity(format: FloatFormat) throws {
        let dtype: DType = format == .bf16 ? .bf16 : format == .fp16 ? .f16 : .f32
        let largest = format.infinityBits - 1
        let bits = [largest, largest | format.signBit, largest - 1, 1, format.signBit | 1]
        for block in [0, 4] {
            for k in 0...3 {
                let (_, decoded) = try Self.roundTrip(
                    TestData.bytes(bits: bits, format), dtype: dtype, shape: [5],
                    mode: .lossy(keptBits: k, blockSize: block))
                #expect(TestData.bits(decoded, format).allSatisfy { !format.isNonFinite($0) })
            }
        }
    }

    @Test("lossy mode keeps tensors with inf or NaN lossless, and stores integer tensors as they are")
    func fallbacks() throws {
        let bits = TestData.specials(.bf16)
        let bytes = TestData.bytes(bits: bits, .bf16)
        let (record, decoded) = try Self.roundTrip(
            bytes, dtype: .bf16, shape: [bits.count], mode: .lossy(keptBits: 1, blockSize: 0))
        #expect(record.method == .lossless && decoded == bytes)
        let ints = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let (intRecord, intDecoded) = try Self.roundTrip(
            ints, dtype: .i32, shape: [75], mode: .lossy(keptBits: 1, blockSize: 0), chunk: 16)
        #expect(intRecord.method == .stored && intDecoded == ints)
    }

    @Test("bad parameters are refused with a message")
    func badParameters() throws {
        let writer = try CheckpointWriter()
        #expect(throws: NeuZipError.self) {
            try writer.add(name: "t", dtype: .bf16, shape: [1], bytes: [0, 0], mode: .lossy(keptBits: 8, blockSize: 0))
        }
        #expect(throws: NeuZipError.self) {
            try writer.add(name: "t", dtype: .bf16, shape: [2], bytes: [0, 0], mode: .lossless)
        }
        try writer.add(name: "t", dtype: .bf16, shape: [1], bytes: [0, 0], mode: .lossless)
        #expect(throws: NeuZipError.self) {
            try writer.add(name: "t", dtype: .bf16, shape: [1], bytes: [0, 0], mode: .lossless)
        }
    }
}
