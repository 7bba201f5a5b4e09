import Foundation
import SafeTensors

/// A checkpoint's table as `quorum ckpt inspect` shows it: sizes, ratio, coding and exponent entropy
/// per tensor, read from the table alone (no tensor is decoded).
public struct CheckpointReport: Encodable, Sendable {
    /// One tensor's line.
    public struct Tensor: Encodable, Sendable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        public var method: String
        public var keptMantissaBits: Int?
        public var blockSize: Int?
        public var chunks: Int
        public var originalBytes: Int
        public var storedBytes: Int
        public var ratio: Double
        public var exponentEntropyBits: Double?
        public var maxRelativeError: Double

        /// The line of one table entry.
        init(_ r: TensorRecord) {
            name = r.name
            dtype = r.dtype.rawValue
            shape = r.shape
            method = r.method.name
            keptMantissaBits = r.method == .stored ? nil : r.keptBits
            blockSize = r.blockSize > 0 ? r.blockSize : nil
            chunks = r.chunks.count
            originalBytes = r.originalByteCount
            storedBytes = r.storedByteCount
            ratio = r.storedByteCount > 0 ? Double(r.originalByteCount) / Double(r.storedByteCount) : 1
            exponentEntropyBits = r.method == .stored ? nil : r.exponentEntropy
            maxRelativeError = r.maxRelativeError
        }
    }

    public var file: String
    public var fileBytes: Int
    public var originalBytes: Int
    public var ratio: Double
    public var sha256: String
    public var metadataKeys: [String]
    public var tensors: [Tensor]

    /// The report of the checkpoint `reader` read from `file`.
    public init(file: String, reader: CheckpointReader) {
        self.file = file
        fileBytes = reader.fileSize
        tensors = reader.tensors.map(Tensor.init)
        originalBytes = tensors.reduce(0) { $0 + $1.originalBytes }
        ratio = Double(originalBytes) / Double(max(1, reader.fileSize))
        sha256 = reader.digestHex
        metadataKeys = reader.metadata.keys.sorted()
    }

    /// The report as text: a header, the digest, the metadata keys and a line per tensor.
    public var lines: [String] {
        var lines = [
            "\(file): \(tensors.count) tensors, \(ByteCount.format(originalBytes)) → \(ByteCount.format(fileBytes)) "
                + String(format: "(%.3f×)", ratio),
            "sha256 \(sha256)",
        ]
        if !metadataKeys.isEmpty { lines.append("metadata: " + metadataKeys.joined(separator: ", ")) }
        for t in tensors {
            let coding =
                t.method + (t.keptMantissaBits.map { " k=\($0)" } ?? "") + (t.blockSize.map { " block=\($0)" } ?? "")
            let entropy = t.exponentEntropyBits.map { String(format: " H(exp)=%.3f", $0) } ?? ""
            let error = t.maxRelativeError > 0 ? String(format: " maxrel=%.3g", t.maxRelativeError) : ""
            lines.append(
                "  \(t.name) \(t.dtype)\(t.shape) \(coding): "
                    + "\(ByteCount.format(t.originalBytes)) → \(ByteCount.format(t.storedBytes)) "
                    + String(format: "%.3f×", t.ratio) + entropy + error)
        }
        return lines
    }
}

/// What compressing into a checkpoint produced, as `quorum ckpt compress` shows it.
public struct CompressionSummary: Encodable, Sendable {
    public var output: String
    public var tensors: Int
    public var originalBytes: Int
    public var compressedBytes: Int
    public var ratio: Double
    public var maxRelativeError: Double
    public var seconds: Double

    /// The summary of `records` written to `output` (whose size is read from disk) in `seconds`.
    public init(output: String, records: [TensorRecord], seconds: Double) {
        self.output = output
        tensors = records.count
        compressedBytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        originalBytes = records.reduce(0) { $0 + $1.originalByteCount }
        ratio = compressedBytes > 0 ? Double(originalBytes) / Double(compressedBytes) : 0
        maxRelativeError = records.map(\.maxRelativeError).max() ?? 0
        self.seconds = seconds
    }

    /// The summary as one line of text.
    public var line: String {
        "wrote \(output): \(tensors) tensors, \(ByteCount.format(originalBytes)) → \(ByteCount.format(compressedBytes)) "
            + String(format: "(%.3f×) in %.1f s", ratio, seconds)
            + (maxRelativeError > 0 ? String(format: ", max relative error %.3g", maxRelativeError) : "")
    }
}

/// Byte counts for people.
public enum ByteCount {
    /// `n` bytes in binary units: `812 B`, `3.25 MiB`.
    public static func format(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: "%.2f %@", value, units[unit])
    }
}
