internal import QuorumDigest
public import SafeTensors

/// A `.nzck` checkpoint opened for random access. Opening reads only the header, trailer and table,
/// and validates them (CRC32C, every length and offset); `read` then fetches and decodes one tensor,
/// checking each chunk's CRC32C. `verifyDigest` checks the whole-file SHA-256.
public struct CheckpointReader: Sendable {
    /// The tensors, in file order.
    public let tensors: [TensorRecord]
    /// The string metadata carried in the checkpoint.
    public let metadata: [String: String]
    /// The file's size in bytes.
    public var fileSize: Int { source.size }
    /// The SHA-256 recorded at the end of the file (checked by `verifyDigest`).
    public let recordedDigest: [UInt8]

    /// Where the bytes come from.
    private let source: ByteSource

    /// Opens the checkpoint at `path`.
    public init(path: String) throws {
        try self.init(source: .file(ReadFile(path: path)))
    }

    /// Opens a checkpoint held in memory.
    public init(bytes: [UInt8]) throws {
        try self.init(source: .memory(bytes))
    }

    private init(source: ByteSource) throws {
        self.source = source
        let size = source.size
        guard size >= ContainerFormat.minimumFileLength else {
            if size >= 8, try source.read(count: 8, at: 0) != ContainerFormat.magic {
                throw NeuZipError(.notACheckpoint, "this is not a NeuZip checkpoint (bad magic); pass a .nzck file")
            }
            throw NeuZipError(.truncated, "the file is only \(size) bytes, too short for a checkpoint; it is truncated")
        }
        let header = try source.read(count: ContainerFormat.headerLength, at: 0)
        try ContainerFormat.checkHeader(header)
        let tail = ContainerFormat.trailerLength + ContainerFormat.digestLength
        let trailerBytes = try source.read(count: ContainerFormat.trailerLength, at: size - tail)
        recordedDigest = try source.read(count: ContainerFormat.digestLength, at: size - ContainerFormat.digestLength)
        let (offset, length, crc) = try ContainerFormat.parseTrailer(trailerBytes, fileSize: size)
        let table = try source.read(count: length, at: offset)
        var check = CRC32C()
        check.update(header)
        check.update(table)
        check.update(trailerBytes[0..<16])
        guard check.value == crc else { throw NeuZipError.corrupt("the tensor table fails its CRC32C check") }
        (metadata, tensors) = try ContainerFormat.parseTable(table, payloadEnd: offset)
    }

    /// The entry for `name`.
    public func record(_ name: String) throws -> TensorRecord {
        guard let record = tensors.first(where: { $0.name == name }) else {
            throw NeuZipError(
                .noSuchTensor, "no tensor named \"\(name)\" in this checkpoint; `quorum ckpt inspect` lists them")
        }
        return record
    }

    /// Decodes the tensor called `name` (reading only its own chunks).
    public func read(_ name: String, threads: Int = 0) throws -> RawTensor {
        try read(record(name), threads: threads)
    }

    /// Decodes the tensor of `record` (an entry of `tensors`).
    public func read(_ record: TensorRecord, threads: Int = 0) throws -> RawTensor {
        let stored = try source.read(count: record.storedByteCount, at: record.offset)
        let bytes = try stored.withUnsafeBytes { try TensorCodec.decode(record, stored: $0, threads: threads) }
        return RawTensor(name: record.name, dtype: record.dtype, shape: record.shape, bytes: bytes)
    }

    /// Reads the whole file and checks its SHA-256 against the recorded digest.
    public func verifyDigest() throws {
        var digest = SHA256()
        let end = source.size - ContainerFormat.digestLength
        var offset = 0
        while offset < end {
            let n = min(1 << 22, end - offset)
            digest.update(try source.read(count: n, at: offset))
            offset += n
        }
        guard digest.finalize() == recordedDigest else {
            throw NeuZipError.corrupt("the whole-file SHA-256 does not match")
        }
    }

    /// Checks everything: every tensor's chunks (CRC32C and a full decode, so an error names the
    /// damaged tensor), then the whole-file SHA-256.
    public func verify(threads: Int = 0) throws {
        for record in tensors { _ = try read(record, threads: threads) }
        try verifyDigest()
    }

    /// The recorded SHA-256 as hex.
    public var digestHex: String { Hex.encode(recordedDigest) }
}
