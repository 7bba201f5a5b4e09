import ArgumentParser
import Foundation
import NeuZip
import SafeTensors

/// `quorum bench neuzip`: NeuZip's compression ratio against the exponent-entropy bound and zstd,
/// and its encode/decode speed on one core, for the same weights in bf16 and fp32.
struct BenchNeuZipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neuzip",
        abstract: "Benchmark NeuZip: ratio vs. exponent-entropy bound vs. zstd -19, MB/s per core, lossy ratios.",
        discussion: """
            Reads the float tensors of any .safetensors file (--in) and measures them as bf16 and as fp32 \
            (converting with round-to-nearest-even where needed). Without --in it synthesises Gaussian \
            weights and says so. MB/s counts uncompressed bytes (10^6) per second on one core.
            """)

    @Option(name: .customLong("in"), help: "A .safetensors file with trained weights.")
    var input: String?

    @Option(help: "Values to synthesise when --in is absent.")
    var syntheticCount = 1 << 23

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Skip the zstd comparison.")
    var noZstd = false

    @Flag(help: "Skip the lossy sweep.")
    var noLossy = false

    func run() async throws {
        let (weights, source) = try reportingNeuZipErrors { try loadWeights() }
        let parameterCount = weights.reduce(0) { $0 + $1.values.count }
        guard parameterCount > 0 else {
            throw CommandFailure(
                "\(input ?? "input") holds no F32/F16/BF16 tensors; pass a file with float weights")
        }
        progress("benchmarking \(parameterCount) parameters in \(weights.count) tensors")
        let bf16 = weights.map {
            Tensor(name: $0.name, shape: $0.shape, dtype: .bf16, bytes: encode($0.values, bf16: true))
        }
        let fp32 = weights.map {
            Tensor(name: $0.name, shape: $0.shape, dtype: .f32, bytes: encode($0.values, bf16: false))
        }
        var bf16Result = try measure(bf16, label: "bf16")
        let fp32Result = try measure(fp32, label: "fp32")
        if !noZstd {
            progress("zstd -19 on the bf16 bytes…")
            bf16Result.zstd19Ratio = zstdRatio(bf16.flatMap(\.bytes))
        }
        var lossy: [LossyResult] = []
        for block in noLossy ? [] : [0, 512] {
            for k in [0, 1, 2, 3, 5, 7] {
                progress("lossy bf16 k=\(k) block=\(block)…")
                let run = try compress(bf16, mode: .lossy(keptBits: k, blockSize: block), threads: 0)
                lossy.append(
                    LossyResult(
                        format: "bf16", keptBits: k, blockSize: block,
                        ratio: Double(run.original) / Double(run.fileBytes),
                        maxRelativeError: run.records.map(\.maxRelativeError).max() ?? 0))
            }
        }
        let report = BenchReport(
            input: source, machine: .current, parameters: parameterCount, tensors: weights.count, bf16: bf16Result,
            fp32: fp32Result,
            lossy: lossy,
            paper: .init(
                model: "Llama-3 8B (bf16)", losslessRatio: 1.505, idealRatio: 1.501,
                source: "Hao, Cao, Mou, NeuZip, arXiv 2410.20650"))
        if json {
            print(try jsonText(report))
        } else {
            for (label, r) in [("bf16", bf16Result), ("fp32", fp32Result)] {
                print(
                    String(
                        format:
                            "%@: ratio %.4f×, entropy bound %.4f× (%.2f %% of it), H(exp) %.3f bits, encode %.0f MB/s, decode %.0f MB/s per core",
                        label, r.ratio, r.boundRatio, 100 * r.ratioOverBound, r.exponentEntropyBits, r.encodeMBps,
                        r.decodeMBps)
                        + (r.zstd19Ratio.map { String(format: ", zstd -19 %.4f×", $0) } ?? ""))
            }
            for l in lossy {
                print(
                    String(
                        format: "lossy bf16 k=%d block=%d: %.3f×, max relative error %.3g", l.keptBits, l.blockSize,
                        l.ratio, l.maxRelativeError))
            }
        }
    }

    /// A float tensor decoded to Float values.
    struct Weights {
        var name: String
        var shape: [Int]
        var values: [Float]
    }

    /// A tensor ready to compress.
    struct Tensor {
        var name: String
        var shape: [Int]
        var dtype: DType
        var bytes: [UInt8]
    }

    /// The float tensors of `--in`, or synthetic Gaussian weights; and a description of where they came from.
    func loadWeights() throws -> ([Weights], BenchReport.Input) {
        guard let input else {
            var rng = SystemRandomNumberGenerator()
            var values = [Float](repeating: 0, count: syntheticCount)
            for i in stride(from: 0, to: syntheticCount, by: 2) {
                let u1 = max(Float.leastNormalMagnitude, Float.random(in: 0..<1, using: &rng))
                let u2 = Float.random(in: 0..<1, using: &rng)
                let r = 0.02 * (-2 * log(u1)).squareRoot()
                values[i] = r * cos(2 * .pi * u2)
                if i + 1 < syntheticCount { values[i + 1] = r * sin(2 * .pi * u2) }
            }
            return (
                [Weights(name: "synthetic", shape: [syntheticCount], values: values)],
                .init(
                    path: nil, synthetic: true,
                    note: "synthetic Gaussian N(0, 0.02²) weights, not trained; pass --in for real ones")
            )
        }
        let file = try SafeTensorsFile(path: input)
        var weights: [Weights] = []
        var dtypes = Set<String>()
        for tensor in file.tensors {
            guard let values = try decodeFloats(file.read(tensor), dtype: tensor.dtype) else { continue }
            dtypes.insert(tensor.dtype.rawValue)
            weights.append(Weights(name: tensor.name, shape: tensor.shape, values: values))
        }
        let note =
            "float tensors stored as \(dtypes.sorted().joined(separator: "/")); converted to bf16 with round-to-nearest-even and to fp32 exactly where needed"
        return (weights, .init(path: input, synthetic: false, note: note))
    }

    /// Little-endian F32/F16/BF16 bytes as Floats; nil for other dtypes.
    func decodeFloats(_ bytes: [UInt8], dtype: DType) -> [Float]? {
        bytes.withUnsafeBytes { raw -> [Float]? in
            switch dtype {
            case .f32:
                return (0..<(bytes.count / 4)).map {
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
                }
            case .bf16:
                return (0..<(bytes.count / 2)).map {
                    Float(
                        bitPattern: UInt32(
                            UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16)
                }
            case .f16:
                return (0..<(bytes.count / 2)).map {
                    Float(
                        Float16(
                            bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
                        ))
                }
            default:
                return nil
            }
        }
    }

    /// `values` as little-endian bf16 (round to nearest even) or fp32 bytes.
    func encode(_ values: [Float], bf16: Bool) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * (bf16 ? 2 : 4))
        for v in values {
            var bits = v.bitPattern
            if bf16 {
                bits = v.isNaN ? (bits >> 16) | 0x40 : (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
                out.append(UInt8(truncatingIfNeeded: bits))
                out.append(UInt8(truncatingIfNeeded: bits >> 8))
            } else {
                withUnsafeBytes(of: bits.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// One compression run held in memory.
    struct Run {
        var records: [TensorRecord]
        var fileBytes: Int
        var original: Int
        var encodeSeconds: Double
        var checkpoint: [UInt8]
    }

    func compress(_ tensors: [Tensor], mode: CompressionMode, threads: Int) throws -> Run {
        let writer = try reportingNeuZipErrors { try CheckpointWriter() }
        writer.threads = threads
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for t in tensors {
                try reportingNeuZipErrors {
                    try writer.add(name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes, mode: mode)
                }
            }
            try reportingNeuZipErrors { try writer.finish() }
        }
        return Run(
            records: writer.records, fileBytes: writer.bytes.count, original: tensors.reduce(0) { $0 + $1.bytes.count },
            encodeSeconds: Self.seconds(elapsed), checkpoint: writer.bytes)
    }

    /// Lossless ratio, bound and single-core speed for one dtype; checks the round trip is bit-exact.
    func measure(_ tensors: [Tensor], label: String) throws -> FormatResult {
        progress("lossless \(label): encoding on one core…")
        let run = try compress(tensors, mode: .lossless, threads: 1)
        progress("lossless \(label): decoding on one core…")
        let reader = try reportingNeuZipErrors { try CheckpointReader(bytes: run.checkpoint) }
        var exact = true
        let clock = ContinuousClock()
        var decoded: [[UInt8]] = []
        let elapsed = try clock.measure {
            for record in reader.tensors {
                decoded.append(try reportingNeuZipErrors { try reader.read(record, threads: 1).bytes })
            }
        }
        for (t, d) in zip(tensors, decoded) where t.bytes != d { exact = false }
        // The bound: sign and mantissa bits stored as they are, exponents at their Shannon entropy.
        let format = label == "bf16" ? FloatFormat.bf16 : .fp32
        var idealBits = 0.0
        var entropyWeighted = 0.0
        var elements = 0
        for record in run.records {
            let n = record.elementCount
            idealBits += Double(n) * (Double(1 + format.mantissaBits) + record.exponentEntropy)
            entropyWeighted += Double(n) * record.exponentEntropy
            elements += n
        }
        let boundRatio = Double(run.original) / (idealBits / 8)
        let ratio = Double(run.original) / Double(run.fileBytes)
        return FormatResult(
            originalBytes: run.original, compressedBytes: run.fileBytes, ratio: ratio,
            exponentEntropyBits: entropyWeighted / Double(max(1, elements)), boundRatio: boundRatio,
            ratioOverBound: ratio / boundRatio, withinHalfPercentOfBound: ratio >= 0.995 * boundRatio,
            encodeMBps: Double(run.original) / run.encodeSeconds / 1e6,
            decodeMBps: Double(run.original) / Self.seconds(elapsed) / 1e6, bitExact: exact, zstd19Ratio: nil)
    }

    /// zstd -19's ratio on `bytes`, or nil when zstd is not installed.
    func zstdRatio(_ bytes: [UInt8]) -> Double? {
        let candidates = ["/usr/bin/zstd", "/usr/local/bin/zstd", "/bin/zstd"]
        guard let zstd = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return nil
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("neuzip-bench-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let raw = folder.appendingPathComponent("weights.bf16")
        let packed = folder.appendingPathComponent("weights.bf16.zst")
        guard (try? Data(bytes).write(to: raw)) != nil else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: zstd)
        process.arguments = ["-19", "-T0", "-q", "-f", raw.path, "-o", packed.path]
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let size = try? FileManager.default.attributesOfItem(atPath: packed.path)[.size] as? Int, size > 0
        else { return nil }
        return Double(bytes.count) / Double(size)
    }

    /// A duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        let (s, atto) = duration.components
        return Double(s) + Double(atto) / 1e18
    }

    func progress(_ line: String) {
        CkptCommand.printError(line)
    }
}

extension BenchNeuZipCommand {
    /// What `quorum bench neuzip --json` prints.
    struct BenchReport: Encodable {
        struct Input: Encodable {
            var path: String?
            var synthetic: Bool
            var note: String
        }

        struct Paper: Encodable {
            var model: String
            var losslessRatio: Double
            var idealRatio: Double
            var source: String
        }

        /// Where the numbers were taken: speeds on a busy machine read low.
        struct Machine: Encodable {
            var activeProcessors: Int
            var loadAverage1m: Double?

            static var current: Machine {
                let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
                return Machine(
                    activeProcessors: ProcessInfo.processInfo.activeProcessorCount,
                    loadAverage1m: text.split(separator: " ").first.flatMap { Double($0) })
            }
        }

        var input: Input
        var machine: Machine
        var parameters: Int
        var tensors: Int
        var bf16: FormatResult
        var fp32: FormatResult
        var lossy: [LossyResult]
        var paper: Paper
    }

    /// Lossless results for one dtype.
    struct FormatResult: Encodable {
        var originalBytes: Int
        var compressedBytes: Int
        var ratio: Double
        var exponentEntropyBits: Double
        var boundRatio: Double
        var ratioOverBound: Double
        var withinHalfPercentOfBound: Bool
        var encodeMBps: Double
        var decodeMBps: Double
        var bitExact: Bool
        var zstd19Ratio: Double?

        enum CodingKeys: String, CodingKey {
            case originalBytes, compressedBytes, ratio, exponentEntropyBits, boundRatio, ratioOverBound
            case withinHalfPercentOfBound, encodeMBps, decodeMBps, bitExact, zstd19Ratio
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(originalBytes, forKey: .originalBytes)
            try c.encode(compressedBytes, forKey: .compressedBytes)
            try c.encode(ratio, forKey: .ratio)
            try c.encode(exponentEntropyBits, forKey: .exponentEntropyBits)
            try c.encode(boundRatio, forKey: .boundRatio)
            try c.encode(ratioOverBound, forKey: .ratioOverBound)
            try c.encode(withinHalfPercentOfBound, forKey: .withinHalfPercentOfBound)
            try c.encode(encodeMBps, forKey: .encodeMBps)
            try c.encode(decodeMBps, forKey: .decodeMBps)
            try c.encode(bitExact, forKey: .bitExact)
            // Explicit null when zstd is absent or was skipped.
            try c.encode(zstd19Ratio, forKey: .zstd19Ratio)
        }
    }

    /// One lossy setting's result.
    struct LossyResult: Encodable {
        var format: String
        var keptBits: Int
        var blockSize: Int
        var ratio: Double
        var maxRelativeError: Double
    }
}
