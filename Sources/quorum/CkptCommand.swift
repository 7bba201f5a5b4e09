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
}

/// Runs `body`, turning NeuZip and safetensors errors into plain messages.
@discardableResult
private func reportingNeuZipErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as NeuZipError {
        throw CommandFailure(error.description)
    } catch let error as SafeTensorsError {
        throw CommandFailure(error.description)
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
            let records = try reportingNeuZipErrors {
                try CompressedCheckpoint.compress(input: input, output: output, mode: codec) { record, done, total in
                    log(
                        "[\(done)/\(total)] \(record.name): \(ByteCount.format(record.originalByteCount)) → "
                            + ByteCount.format(record.storedByteCount)
                    )
                }
            }
            let summary = CompressionSummary(
                output: output, records: records, seconds: Date().timeIntervalSince(start))
            if json { try printJSON(summary) } else { print(summary.line) }
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
            try reportingNeuZipErrors {
                try CompressedCheckpoint.decompress(input: input, output: output, extractFiles: extractFiles) { done, total in
                    if done == total || done % 50 == 0 { log("[\(done)/\(total)] tensors written") }
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
            let reader = try reportingNeuZipErrors { try CheckpointReader(path: file) }
            let report = CheckpointReport(file: file, reader: reader)
            if json { try printJSON(report) } else { for line in report.lines { print(line) } }
        }
    }

    /// `quorum ckpt verify`.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a checkpoint completely: whole-file SHA-256, every chunk's CRC32C, and a full decode.")

        @Argument(help: "The .nzck file.")
        var file: String

        func run() async throws {
            let reader = try reportingNeuZipErrors { try CheckpointReader(path: file) }
            try reportingNeuZipErrors { try reader.verify() }
            print("ok: \(file) (\(reader.tensors.count) tensors, sha256 \(reader.digestHex))")
        }
    }
}
