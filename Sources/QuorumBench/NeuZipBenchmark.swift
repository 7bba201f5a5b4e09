import Foundation
import NeuZip
import QuorumTraining
import SafeTensors
import QuorumCore

/// NeuZip's compression ratio against the exponent-entropy bound and zstd -19, and its encode/decode
/// speed on one core, for the same weights in bf16 and fp32; then the lossy ratios.
///
/// The weights are the float tensors of a .safetensors file, converted with round-to-nearest-even
/// where needed, or synthetic Gaussian ones (and the report says so). MB/s counts uncompressed bytes
/// (10^6) per second on one core.
public struct NeuZipBenchmark: Sendable {
    /// A .safetensors file with trained weights; nil: synthetic Gaussian weights.
    public var inputPath: String?
    /// Values to synthesise when ``inputPath`` is nil.
    public var syntheticCount = 1 << 23
    /// Whether to compare with zstd -19 (when it is installed).
    public var zstd = true
    /// Whether to run the lossy sweep (kept mantissa bits 0…7, without and with blocks of 512).
    public var lossySweep = true
    /// Where progress lines go.
    public var progress: @Sendable (String) -> Void = { _ in }

    /// A benchmark of synthetic weights with every part on.
    public init() {}

    /// What the benchmark measured.
    public struct Report: Encodable, Sendable {
        /// Where the weights came from.
        public struct Input: Encodable, Sendable {
            /// The file, nil for synthetic weights.
            public var path: String?
            /// Whether the weights were synthesised.
            public var synthetic: Bool
            /// The stored dtypes and conversions, or what synthetic means.
            public var note: String
        }

        /// The paper's number to compare with.
        public struct Paper: Encodable, Sendable {
            /// The model the paper measured.
            public var model: String
            /// Its lossless ratio.
            public var losslessRatio: Double
            /// Its exponent-entropy bound.
            public var idealRatio: Double
            /// The citation.
            public var source: String
        }

        /// Where the numbers were taken: speeds on a busy machine read low.
        public struct Machine: Encodable, Sendable {
            /// Active processors.
            public var activeProcessors: Int
            /// The 1-minute load average.
            public var loadAverage1m: Double?

            /// This machine, now.
            static var current: Machine {
                Machine(
                    activeProcessors: ProcessInfo.processInfo.activeProcessorCount,
                    loadAverage1m: LoadAverage.oneMinute())
            }
        }

        /// Lossless results for one dtype.
        public struct FormatResult: Encodable, Sendable {
            /// Uncompressed bytes.
            public var originalBytes: Int
            /// Checkpoint bytes.
            public var compressedBytes: Int
            /// Original over compressed.
            public var ratio: Double
            /// Exponent entropy in bits, weighted by tensor size.
            public var exponentEntropyBits: Double
            /// The ratio with sign and mantissa stored as they are and exponents at their entropy.
            public var boundRatio: Double
            /// ``ratio`` over ``boundRatio``.
            public var ratioOverBound: Double
            /// Whether the ratio is within 0.5 % of the bound.
            public var withinHalfPercentOfBound: Bool
            /// Encode MB/s on one core.
            public var encodeMBps: Double
            /// Decode MB/s on one core.
            public var decodeMBps: Double
            /// Whether decoding gave back every byte.
            public var bitExact: Bool
            /// zstd -19's ratio on the same bytes; null when zstd is absent or was skipped.
            public var zstd19Ratio: Double?

            enum CodingKeys: String, CodingKey {
                case originalBytes, compressedBytes, ratio, exponentEntropyBits, boundRatio, ratioOverBound
                case withinHalfPercentOfBound, encodeMBps, decodeMBps, bitExact, zstd19Ratio
            }

            /// Encodes every field, ``zstd19Ratio`` as an explicit null when absent.
            public func encode(to encoder: any Encoder) throws {
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
                try c.encode(zstd19Ratio, forKey: .zstd19Ratio)
            }
        }

        /// One lossy setting's result.
        public struct LossyResult: Encodable, Sendable {
            /// The dtype compressed (bf16).
            public var format: String
            /// Mantissa bits kept.
            public var keptBits: Int
            /// Values per shared rounding block (0: none).
            public var blockSize: Int
            /// Original over compressed.
            public var ratio: Double
            /// The largest relative error of any value.
            public var maxRelativeError: Double
        }

        /// Where the weights came from.
        public var input: Input
        /// The machine.
        public var machine: Machine
        /// Weights measured.
        public var parameters: Int
        /// Tensors measured.
        public var tensors: Int
        /// The weights as bf16.
        public var bf16: FormatResult
        /// The weights as fp32.
        public var fp32: FormatResult
        /// The lossy sweep (empty when skipped).
        public var lossy: [LossyResult]
        /// The paper's numbers.
        public var paper: Paper
    }

    /// Loads or synthesises the weights and measures them (on a thread of its own).
    public func run() async throws -> Report {
        guard inputPath != nil || syntheticCount > 0 else {
            throw BenchError("the synthetic value count must be at least 1 (got \(syntheticCount))")
        }
        let benchmark = self
        return try await runOnDedicatedThread {
            do {
                return try benchmark.measure()
            } catch let error as NeuZipError {
                throw BenchError(error.description)
            } catch let error as SafeTensorsError {
                throw BenchError(error.description)
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

    /// One compression run held in memory.
    struct Run {
        var records: [TensorRecord]
        var fileBytes: Int
        var original: Int
        var encodeSeconds: Double
        var checkpoint: [UInt8]
    }

    private func measure() throws -> Report {
        let (weights, source) = try loadWeights()
        let parameterCount = weights.reduce(0) { $0 + $1.values.count }
        guard parameterCount > 0 else {
            throw BenchError(
                "\(inputPath ?? "input") holds no F32/F16/BF16 tensors; pass a file with float weights")
        }
        progress("benchmarking \(parameterCount) parameters in \(weights.count) tensors")
        let bf16 = weights.map {
            Tensor(name: $0.name, shape: $0.shape, dtype: .bf16, bytes: Self.encode($0.values, bf16: true))
        }
        let fp32 = weights.map {
            Tensor(name: $0.name, shape: $0.shape, dtype: .f32, bytes: Self.encode($0.values, bf16: false))
        }
        var bf16Result = try lossless(bf16, label: "bf16")
        let fp32Result = try lossless(fp32, label: "fp32")
        if zstd {
            progress("zstd -19 on the bf16 bytes…")
            bf16Result.zstd19Ratio = Self.zstdRatio(bf16.flatMap(\.bytes))
        }
        var lossy: [Report.LossyResult] = []
        for block in lossySweep ? [0, 512] : [] {
            for k in [0, 1, 2, 3, 5, 7] {
                progress("lossy bf16 k=\(k) block=\(block)…")
                let run = try Self.compress(bf16, mode: .lossy(keptBits: k, blockSize: block), threads: 0)
                lossy.append(
                    .init(
                        format: "bf16", keptBits: k, blockSize: block,
                        ratio: Double(run.original) / Double(run.fileBytes),
                        maxRelativeError: run.records.map(\.maxRelativeError).max() ?? 0))
            }
        }
        return Report(
            input: source, machine: .current, parameters: parameterCount, tensors: weights.count, bf16: bf16Result,
            fp32: fp32Result, lossy: lossy,
            paper: .init(
                model: "Llama-3 8B (bf16)", losslessRatio: 1.505, idealRatio: 1.501,
                source: "Hao, Cao, Mou, NeuZip, arXiv 2410.20650"))
    }

    /// The float tensors of ``inputPath``, or synthetic Gaussian weights; and where they came from.
    func loadWeights() throws -> ([Weights], Report.Input) {
        guard let inputPath else {
            var rng = SystemRandomNumberGenerator()
            return (
                [
                    Weights(
                        name: "synthetic", shape: [syntheticCount],
                        values: gaussianValues(syntheticCount, scale: 0.02, using: &rng))
                ],
                .init(
                    path: nil, synthetic: true,
                    note: "synthetic Gaussian N(0, 0.02²) weights, not trained; pass --in for real ones")
            )
        }
        let file = try SafeTensorsFile(path: inputPath)
        var weights: [Weights] = []
        var dtypes = Set<String>()
        for tensor in file.tensors {
            guard let values = try Self.decodeFloats(file.read(tensor), dtype: tensor.dtype) else { continue }
            dtypes.insert(tensor.dtype.rawValue)
            weights.append(Weights(name: tensor.name, shape: tensor.shape, values: values))
        }
        let note =
            "float tensors stored as \(dtypes.sorted().joined(separator: "/")); converted to bf16 with "
            + "round-to-nearest-even and to fp32 exactly where needed"
        return (weights, .init(path: inputPath, synthetic: false, note: note))
    }

    /// Little-endian F32/F16/BF16 bytes as Floats; nil for other dtypes.
    static func decodeFloats(_ bytes: [UInt8], dtype: DType) -> [Float]? {
        bytes.withUnsafeBytes { raw -> [Float]? in
            func half(_ i: Int) -> UInt16 {
                UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
            switch dtype {
            case .f32:
                return (0..<(bytes.count / 4)).map {
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
                }
            case .bf16:
                return (0..<(bytes.count / 2)).map { Float(bitPattern: UInt32(half($0)) << 16) }
            case .f16:
                return (0..<(bytes.count / 2)).map { Float(Float16(bitPattern: half($0))) }
            default:
                return nil
            }
        }
    }

    /// `values` as little-endian bf16 (round to nearest even) or fp32 bytes.
    static func encode(_ values: [Float], bf16: Bool) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * (bf16 ? 2 : 4))
        for v in values {
            var bits = v.bitPattern
            if bf16 {
                bits = UInt32(BF16.encode(v))
                out.append(UInt8(truncatingIfNeeded: bits))
                out.append(UInt8(truncatingIfNeeded: bits >> 8))
            } else {
                withUnsafeBytes(of: bits.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    /// Compresses `tensors` in memory with `mode` on `threads` threads (0: every core).
    static func compress(_ tensors: [Tensor], mode: CompressionMode, threads: Int) throws -> Run {
        let writer = try CheckpointWriter()
        writer.threads = threads
        let start = ContinuousClock.now
        for t in tensors {
            try writer.add(name: t.name, dtype: t.dtype, shape: t.shape, bytes: t.bytes, mode: mode)
        }
        try writer.finish()
        let encodeSeconds = elapsed(since: start)
        return Run(
            records: writer.records, fileBytes: writer.bytes.count, original: tensors.reduce(0) { $0 + $1.bytes.count },
            encodeSeconds: encodeSeconds, checkpoint: writer.bytes)
    }

    /// Lossless ratio, bound and single-core speed for one dtype; checks the round trip is bit-exact.
    private func lossless(_ tensors: [Tensor], label: String) throws -> Report.FormatResult {
        progress("lossless \(label): encoding on one core…")
        let run = try Self.compress(tensors, mode: .lossless, threads: 1)
        progress("lossless \(label): decoding on one core…")
        let reader = try CheckpointReader(bytes: run.checkpoint)
        let start = ContinuousClock.now
        let decoded = try reader.tensors.map { try reader.read($0, threads: 1).bytes }
        let decodeSeconds = elapsed(since: start)
        let exact = zip(tensors, decoded).allSatisfy { $0.bytes == $1 }
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
        return .init(
            originalBytes: run.original, compressedBytes: run.fileBytes, ratio: ratio,
            exponentEntropyBits: entropyWeighted / Double(max(1, elements)), boundRatio: boundRatio,
            ratioOverBound: ratio / boundRatio, withinHalfPercentOfBound: ratio >= 0.995 * boundRatio,
            encodeMBps: Double(run.original) / run.encodeSeconds / 1e6,
            decodeMBps: Double(run.original) / decodeSeconds / 1e6, bitExact: exact, zstd19Ratio: nil)
    }

    /// zstd -19's ratio on `bytes`, or nil when zstd is not installed.
    static func zstdRatio(_ bytes: [UInt8]) -> Double? {
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
}
