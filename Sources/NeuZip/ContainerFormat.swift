internal import QuorumDigest
internal import SafeTensors

/// The `.nzck` layout, version 1 (all integers little-endian):
///
/// ```
/// header   16 B   magic 89 'N' 'Z' 'C' 'K' 0D 0A 1A, version u32 = 1, flags u32 = 0
/// payload         every tensor's chunks, back to back, in table order
/// table           metadata: u32 count, (string key, string value)…   (string = u32 length + UTF-8)
///                 tensors:  u32 count, record…
///                   record: string name, string dtype, u8 method, u8 kept bits, u32 block size,
///                           u32 elements per chunk, u8 rank, u64 dims…, f64 exponent entropy,
///                           f64 max relative error, u64 offset, u32 chunk count,
///                           (u32 length, u32 exponent length, u32 CRC32C)…
/// trailer  28 B   u64 table offset, u64 table length,
///                 u32 CRC32C over header + table + the two u64s, end magic "NZCKEND" 00
/// digest   32 B   SHA-256 of every byte before it
/// ```
///
/// Chunks are written as they are produced and the table follows them, so writing streams; a reader
/// goes to the trailer, then the table, then only the chunks it needs. Every byte before the digest is
/// covered by a CRC32C (the header by the table's), and the whole file by the SHA-256.
enum ContainerFormat {
    /// First eight bytes of every checkpoint.
    static let magic: [UInt8] = [0x89, 0x4E, 0x5A, 0x43, 0x4B, 0x0D, 0x0A, 0x1A]
    /// Last eight bytes before the digest.
    static let endMagic: [UInt8] = Array("NZCKEND".utf8) + [0]
    /// The format version this code writes and reads.
    static let version: UInt32 = 1
    /// Bytes of the header.
    static let headerLength = 16
    /// Bytes of the trailer.
    static let trailerLength = 28
    /// Bytes of the SHA-256 at the end.
    static let digestLength = 32
    /// The smallest possible file: header, empty table (two counts), trailer, digest.
    static let minimumFileLength = headerLength + 8 + trailerLength + digestLength
    /// The most dimensions a tensor may have.
    static let maximumRank = 64

    /// The header bytes.
    static func header() -> [UInt8] {
        var w = ByteWriter(bytes: magic)
        w.u32(version)
        w.u32(0)
        return w.bytes
    }

    /// Checks magic, version and flags.
    static func checkHeader(_ bytes: [UInt8]) throws {
        guard bytes.count == headerLength, Array(bytes[0..<8]) == magic else {
            throw NeuZipError(.notACheckpoint, "this is not a NeuZip checkpoint (bad magic); pass a .nzck file")
        }
        var r = ByteReader(bytes: bytes, position: 8, context: "header")
        let v = try r.u32()
        guard v == version else {
            throw NeuZipError(
                .notACheckpoint,
                "checkpoint format version \(v) is not supported (this build reads \(version)); upgrade quorum")
        }
        guard try r.u32() == 0 else { throw NeuZipError.corrupt("the header has unknown flags set") }
    }

    /// The table bytes for `metadata` and `records`.
    static func table(metadata: [String: String], records: [TensorRecord]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(metadata.count))
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            w.string(key)
            w.string(value)
        }
        w.u32(UInt32(records.count))
        for r in records {
            w.string(r.name)
            w.string(r.dtype.rawValue)
            w.u8(r.method.rawValue)
            w.u8(UInt8(r.keptBits))
            w.u32(UInt32(r.blockSize))
            w.u32(UInt32(r.elementsPerChunk))
            w.u8(UInt8(r.shape.count))
            for d in r.shape { w.u64(UInt64(d)) }
            w.f64(r.exponentEntropy)
            w.f64(r.maxRelativeError)
            w.u64(UInt64(r.offset))
            w.u32(UInt32(r.chunks.count))
            for c in r.chunks {
                w.u32(UInt32(c.length))
                w.u32(UInt32(c.exponentLength))
                w.u32(c.crc)
            }
        }
        return w.bytes
    }

    /// The trailer bytes, with the CRC over header, table and table position.
    static func trailer(header: [UInt8], table: [UInt8], tableOffset: Int) -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(tableOffset))
        w.u64(UInt64(table.count))
        var crc = CRC32C()
        crc.update(header)
        crc.update(table)
        crc.update(w.bytes)
        w.u32(crc.value)
        w.bytes += endMagic
        return w.bytes
    }

    /// Reads the trailer at the end of a `fileSize`-byte file; returns the table's offset and length.
    static func parseTrailer(_ bytes: [UInt8], fileSize: Int) throws -> (offset: Int, length: Int, crc: UInt32) {
        guard Array(bytes[20..<28]) == endMagic else {
            throw NeuZipError(.truncated, "the checkpoint's end marker is missing; the file is truncated or damaged")
        }
        var r = ByteReader(bytes: bytes, context: "trailer")
        let offset = try r.int(max: fileSize)
        let length = try r.int(max: fileSize)
        let crc = try r.u32()
        guard offset >= headerLength, length >= 8, offset + length == fileSize - trailerLength - digestLength else {
            throw NeuZipError.corrupt("the trailer's table position does not fit the file")
        }
        return (offset, length, crc)
    }

    /// Parses and validates the table: every count is checked against the bytes left before anything is
    /// allocated, and the tensors must tile the payload `[headerLength, payloadEnd)` exactly.
    static func parseTable(_ bytes: [UInt8], payloadEnd: Int) throws -> (
        metadata: [String: String], records: [TensorRecord]
    ) {
        var r = ByteReader(bytes: bytes, context: "tensor table")
        let metadataCount = Int(try r.u32())
        guard metadataCount <= r.remaining / 8 else { throw NeuZipError.corrupt("the metadata count is impossible") }
        var metadata: [String: String] = [:]
        for _ in 0..<metadataCount {
            let key = try r.string()
            guard metadata[key] == nil else { throw NeuZipError.corrupt("metadata key \"\(key)\" appears twice") }
            metadata[key] = try r.string()
        }
        let tensorCount = Int(try r.u32())
        guard tensorCount <= r.remaining / 49 else { throw NeuZipError.corrupt("the tensor count is impossible") }
        var records: [TensorRecord] = []
        var names = Set<String>()
        var expectedOffset = headerLength
        for _ in 0..<tensorCount {
            let name = try r.string()
            guard names.insert(name).inserted else { throw NeuZipError.corrupt("tensor \"\(name)\" appears twice") }
            let dtypeName = try r.string()
            guard let dtype = DType(rawValue: dtypeName) else {
                throw NeuZipError.corrupt("tensor \"\(name)\" has unknown dtype \(dtypeName)")
            }
            guard let method = StorageMethod(rawValue: try r.u8()) else {
                throw NeuZipError.corrupt("tensor \"\(name)\" has an unknown storage method")
            }
            let keptBits = Int(try r.u8())
            let blockSize = Int(try r.u32())
            let elementsPerChunk = Int(try r.u32())
            let rank = Int(try r.u8())
            guard rank <= maximumRank else { throw NeuZipError.corrupt("tensor \"\(name)\" has rank \(rank)") }
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(try r.int()) }
            let entropy = try r.f64()
            let maxError = try r.f64()
            let offset = try r.int(max: payloadEnd)
            let chunkCount = Int(try r.u32())
            guard chunkCount <= r.remaining / 12 else {
                throw NeuZipError.corrupt("tensor \"\(name)\" has an impossible chunk count")
            }
            var chunks: [ChunkRecord] = []
            chunks.reserveCapacity(chunkCount)
            var stored = 0
            for _ in 0..<chunkCount {
                let length = Int(try r.u32())
                let exponentLength = Int(try r.u32())
                let crc = try r.u32()
                chunks.append(ChunkRecord(length: length, exponentLength: exponentLength, crc: crc))
                stored += length
            }
            guard offset == expectedOffset, stored <= payloadEnd - offset else {
                throw NeuZipError.corrupt("tensor \"\(name)\" does not sit where the table says")
            }
            expectedOffset = offset + stored
            let record = TensorRecord(
                name: name, dtype: dtype, shape: shape, method: method, keptBits: keptBits, blockSize: blockSize,
                elementsPerChunk: elementsPerChunk, exponentEntropy: entropy, maxRelativeError: maxError,
                offset: offset,
                chunks: chunks)
            try TensorCodec.validateLayout(record)
            records.append(record)
        }
        guard r.remaining == 0 else { throw NeuZipError.corrupt("the tensor table has trailing bytes") }
        guard expectedOffset == payloadEnd else {
            throw NeuZipError.corrupt("the payload holds bytes no tensor claims")
        }
        return (metadata, records)
    }
}
