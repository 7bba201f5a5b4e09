internal import QuorumDigest
public import SafeTensors

/// Writes a `.nzck` checkpoint as a stream: each tensor is compressed and written when it is added,
/// so only one tensor is in memory at a time; `finish` appends the table, trailer and SHA-256.
///
/// ```swift
/// let writer = try CheckpointWriter(path: "model.nzck")
/// try writer.add(name: "w", dtype: .bf16, shape: [4096, 4096], bytes: weights, mode: .lossless)
/// writer.metadata["config.json"] = configText
/// try writer.finish()
/// ```
/// - Important: Use from one task at a time. The file is not a valid checkpoint until `finish` returns.
public final class CheckpointWriter {
    /// Free-form string metadata (model config, tokenizer, training record) stored in the table.
    public var metadata: [String: String] = [:]
    /// The default chunk: 64 Ki elements, so an 8-bit exponent section is 64 KiB before coding.
    public static let defaultElementsPerChunk = 65_536
    /// Elements per chunk for tensors added from now on (1…2^24; chunks code in parallel).
    public var elementsPerChunk = CheckpointWriter.defaultElementsPerChunk
    /// 1 to code on one core; anything else codes chunks on all cores.
    public var threads = 0
    /// The entries written so far.
    public private(set) var records: [TensorRecord] = []

    /// Where the bytes go.
    private let sink: ByteSink
    /// SHA-256 of everything written so far.
    private var digest = SHA256()
    /// The 16-byte file header (also covered by the table's CRC).
    private let header = ContainerFormat.header()
    /// Whether `finish` has run.
    private var finished = false

    /// Creates (or truncates) `path` and writes the header.
    public init(path: String) throws {
        sink = try ByteSink(path: path)
        try emit(header)
    }

    /// Collects the checkpoint in memory; read it with `bytes` after `finish`.
    public init() throws {
        sink = ByteSink()
        try emit(header)
    }

    /// The finished checkpoint's bytes, when writing to memory.
    public var bytes: [UInt8] { sink.memory }

    /// Compresses and appends one tensor. Float tensors (F32, F16, BF16) are coded under `mode`;
    /// other dtypes are stored as they are.
    @discardableResult
    public func add(name: String, dtype: DType, shape: [Int], bytes: [UInt8], mode: CompressionMode) throws
        -> TensorRecord
    {
        try bytes.withUnsafeBytes { try add(name: name, dtype: dtype, shape: shape, bytes: $0, mode: mode) }
    }

    /// Compresses and appends one tensor from raw bytes.
    @discardableResult
    public func add(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, mode: CompressionMode)
        throws
        -> TensorRecord
    {
        guard !finished else { throw NeuZipError(.invalidArgument, "the checkpoint is already finished") }
        guard !records.contains(where: { $0.name == name }) else {
            throw NeuZipError(.invalidArgument, "tensor \"\(name)\" is added twice; names must be unique")
        }
        guard (1...(1 << 24)).contains(elementsPerChunk) else {
            throw NeuZipError(
                .invalidArgument, "elementsPerChunk must be between 1 and 16777216, not \(elementsPerChunk)")
        }
        guard shape.count <= ContainerFormat.maximumRank else {
            throw NeuZipError(
                .invalidArgument, "tensor \"\(name)\" has more than \(ContainerFormat.maximumRank) dimensions")
        }
        var encoded = try TensorCodec.encode(
            name: name, dtype: dtype, shape: shape, bytes: bytes, mode: mode, elementsPerChunk: elementsPerChunk,
            threads: threads)
        encoded.record.offset = sink.written
        for chunk in encoded.chunks { try emit(chunk) }
        records.append(encoded.record)
        return encoded.record
    }

    /// Writes the table, trailer and digest, and closes the file.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        let table = ContainerFormat.table(metadata: metadata, records: records)
        let tableOffset = sink.written
        try emit(table)
        try emit(ContainerFormat.trailer(header: header, table: table, tableOffset: tableOffset))
        let sha = digest.finalize()
        try sha.withUnsafeBytes { try sink.write($0) }
        try sink.close()
    }

    /// Writes `bytes` and adds them to the digest.
    private func emit(_ bytes: [UInt8]) throws {
        digest.update(bytes)
        try bytes.withUnsafeBytes { try sink.write($0) }
    }
}
