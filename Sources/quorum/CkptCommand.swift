import ArgumentParser
import Foundation
import NeuZip
import SafeTensors

/// `quorum ckpt …`: compress, decompress, inspect and verify NeuZip checkpoints (`.nzck`).
struct CkptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ckpt",
        abstract: "Compress model weights into NeuZip checkpoints (.nzck) and back.",
        subcommands: [Compress.self, Decompress.self, Inspect.self, Verify.self])

    /// Lossless or lossy coding, as typed on the command line.
    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case lossless, lossy
    }

    /// Human-readable byte counts.
    static func formatBytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: "%.2f %@", value, units[unit])
    }

    /// Writes a line to standard error (progress, so that standard output stays parseable).
    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Pretty, key-sorted JSON for reports.
    static func jsonText(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// A command-line failure: what is wrong and what to do, printed without a stack trace.
struct CkptError: Error, CustomStringConvertible {
    /// The message shown to the user.
    var description: String

    /// Runs `body`, turning library errors into plain messages.
    @discardableResult
    static func reporting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as NeuZipError {
            throw CkptError(description: error.description)
        } catch let error as SafeTensorsError {
            throw CkptError(description: error.description)
        }
    }
}

extension CkptCommand {
    /// `quorum ckpt compress`.
    struct Compress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compress a .safetensors file, or a model folder, into a .nzck checkpoint.",
            discussion: """
                Float tensors (F32, F16, BF16) are split into exponent and sign+mantissa streams and the \
                exponents are rANS-coded; other dtypes are stored as they are. A folder's small text files \
                (config.json, tokenizer.json, …) are carried along as metadata.
                """)

        @Option(name: .customLong("in"), help: "A .safetensors file or a folder of them.")
        var input: String

        @Option(name: .customLong("out"), help: "The .nzck file to write.")
        var output: String

        @Option(help: "lossless (bit-exact) or lossy (keep --bits mantissa bits).")
        var mode: Mode = .lossless

        @Option(help: "Lossy only: mantissa bits to keep (0…7 for bf16, 0…10 for fp16, 0…23 for fp32). Default 3.")
        var bits: Int?

        @Option(help: "Lossy only: elements per normalisation block; 0 turns normalisation off. Default 512.")
        var block: Int?

        @Flag(help: "Print the summary as JSON.")
        var json = false

        func validate() throws {
            if mode == .lossless && (bits != nil || block != nil) {
                throw ValidationError("--bits and --block apply to --mode lossy only; drop them or add --mode lossy")
            }
            if let bits, !(0...23).contains(bits) {
                throw ValidationError("--bits must be between 0 and 23 (7 is every bf16 mantissa bit)")
            }
            if let block, block < 0 || block > 1 << 20 {
                throw ValidationError("--block must be between 0 (off) and 1048576")
            }
        }

        func run() async throws {
            let codec: CompressionMode =
                mode == .lossless ? .lossless : .lossy(keptBits: bits ?? 3, blockSize: block ?? 512)
            let start = Date()
            let records = try CkptError.reporting {
                try Checkpoint.compress(input: input, output: output, mode: codec) { record, done, total in
                    printError(
                        "[\(done)/\(total)] \(record.name): \(formatBytes(record.originalByteCount)) → \(formatBytes(record.storedByteCount))"
                    )
                }
            }
            let fileSize = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            let original = records.reduce(0) { $0 + $1.originalByteCount }
            let seconds = Date().timeIntervalSince(start)
            let summary = CompressSummary(
                output: output, tensors: records.count, originalBytes: original, compressedBytes: fileSize,
                ratio: fileSize > 0 ? Double(original) / Double(fileSize) : 0,
                maxRelativeError: records.map(\.maxRelativeError).max() ?? 0, seconds: seconds)
            if json {
                print(try jsonText(summary))
            } else {
                print(
                    "wrote \(output): \(records.count) tensors, \(formatBytes(original)) → \(formatBytes(fileSize)) "
                        + String(format: "(%.3f×) in %.1f s", summary.ratio, seconds)
                        + (summary.maxRelativeError > 0
                            ? String(format: ", max relative error %.3g", summary.maxRelativeError) : ""))
            }
        }
    }

    /// `quorum ckpt decompress`.
    struct Decompress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decompress a .nzck checkpoint into one .safetensors file (after checking its SHA-256).")

        @Option(name: .customLong("in"), help: "The .nzck file to read.")
        var input: String

        @Option(name: .customLong("out"), help: "The .safetensors file to write.")
        var output: String

        @Flag(help: "Also write the carried text files (config.json, …) beside the output.")
        var extractFiles = false

        func run() async throws {
            let folder = URL(fileURLWithPath: output).deletingLastPathComponent()
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try CkptError.reporting {
                try Checkpoint.decompress(input: input, output: output, extractFiles: extractFiles) { done, total in
                    if done == total || done % 50 == 0 { printError("[\(done)/\(total)] tensors written") }
                }
            }
            print("wrote \(output)")
        }
    }

    /// `quorum ckpt inspect`.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a checkpoint's tensors: sizes, ratio, coding and exponent entropy (reads only the table).")

        @Argument(help: "The .nzck file.")
        var file: String

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let reader = try CkptError.reporting { try CheckpointReader(path: file) }
            let tensors = reader.tensors.map { r in
                InspectReport.Tensor(
                    name: r.name, dtype: r.dtype.rawValue, shape: r.shape, method: r.method.name,
                    keptMantissaBits: r.method == .stored ? nil : r.keptBits,
                    blockSize: r.blockSize > 0 ? r.blockSize : nil,
                    chunks: r.chunks.count, originalBytes: r.originalByteCount, storedBytes: r.storedByteCount,
                    ratio: r.storedByteCount > 0 ? Double(r.originalByteCount) / Double(r.storedByteCount) : 1,
                    exponentEntropyBits: r.method == .stored ? nil : r.exponentEntropy,
                    maxRelativeError: r.maxRelativeError)
            }
            let original = tensors.reduce(0) { $0 + $1.originalBytes }
            let report = InspectReport(
                file: file, fileBytes: reader.fileSize, originalBytes: original,
                ratio: Double(original) / Double(max(1, reader.fileSize)), sha256: reader.digestHex,
                metadataKeys: reader.metadata.keys.sorted(), tensors: tensors)
            if json {
                print(try jsonText(report))
                return
            }
            print(
                "\(file): \(tensors.count) tensors, \(formatBytes(original)) → \(formatBytes(reader.fileSize)) "
                    + String(format: "(%.3f×)", report.ratio))
            print("sha256 \(report.sha256)")
            if !report.metadataKeys.isEmpty { print("metadata: " + report.metadataKeys.joined(separator: ", ")) }
            for t in tensors {
                let coding =
                    t.method + (t.keptMantissaBits.map { " k=\($0)" } ?? "")
                    + (t.blockSize.map { " block=\($0)" } ?? "")
                let entropy = t.exponentEntropyBits.map { String(format: " H(exp)=%.3f", $0) } ?? ""
                let error = t.maxRelativeError > 0 ? String(format: " maxrel=%.3g", t.maxRelativeError) : ""
                print(
                    "  \(t.name) \(t.dtype)\(t.shape) \(coding): \(formatBytes(t.originalBytes)) → \(formatBytes(t.storedBytes)) "
                        + String(format: "%.3f×", t.ratio) + entropy + error)
            }
        }
    }

    /// `quorum ckpt verify`.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a checkpoint completely: whole-file SHA-256, every chunk's CRC32C, and a full decode.")

        @Argument(help: "The .nzck file.")
        var file: String

        func run() async throws {
            let reader = try CkptError.reporting { try CheckpointReader(path: file) }
            try CkptError.reporting { try reader.verify() }
            print("ok: \(file) (\(reader.tensors.count) tensors, sha256 \(reader.digestHex))")
        }
    }
}

extension CkptCommand {
    /// What `ckpt compress --json` prints.
    struct CompressSummary: Encodable {
        var output: String
        var tensors: Int
        var originalBytes: Int
        var compressedBytes: Int
        var ratio: Double
        var maxRelativeError: Double
        var seconds: Double
    }

    /// What `ckpt inspect --json` prints.
    struct InspectReport: Encodable {
        struct Tensor: Encodable {
            var name: String
            var dtype: String
            var shape: [Int]
            var method: String
            var keptMantissaBits: Int?
            var blockSize: Int?
            var chunks: Int
            var originalBytes: Int
            var storedBytes: Int
            var ratio: Double
            var exponentEntropyBits: Double?
            var maxRelativeError: Double
        }

        var file: String
        var fileBytes: Int
        var originalBytes: Int
        var ratio: Double
        var sha256: String
        var metadataKeys: [String]
        var tensors: [Tensor]
    }
}
