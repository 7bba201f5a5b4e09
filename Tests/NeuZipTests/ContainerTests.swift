import QuorumDigest
import SafeTensors
import Testing

@testable import NeuZip

@Suite("The .nzck container")
struct ContainerTests {
    /// A small checkpoint with every kind of tensor, several chunks each, and metadata.
    static let small: [UInt8] = {
        let writer = try! CheckpointWriter()
        writer.elementsPerChunk = 8
        writer.metadata = ["file:config.json": #"{"hidden_size": 8}"#, "round": "3"]
        try! writer.add(
            name: "w.bf16", dtype: .bf16, shape: [3, 5], bytes: TestData.bytes(TestData.gaussian(15, seed: 1), .bf16),
            mode: .lossless)
        try! writer.add(
            name: "w.f32", dtype: .f32, shape: [6],
            bytes: TestData.bytes(bits: Array(TestData.specials(.fp32).prefix(6)), .fp32),
            mode: .lossless)
        try! writer.add(name: "ids", dtype: .i64, shape: [2], bytes: (0..<16).map { UInt8($0) }, mode: .lossless)
        try! writer.add(
            name: "w.lossy", dtype: .bf16, shape: [16], bytes: TestData.bytes(TestData.gaussian(16, seed: 2), .bf16),
            mode: .lossy(keptBits: 3, blockSize: 8))
        try! writer.add(name: "empty", dtype: .f16, shape: [0], bytes: [], mode: .lossless)
        try! writer.finish()
        return writer.bytes
    }()

    /// Opens `bytes` and decodes every tensor without the whole-file digest (the random-access path).
    static func readAll(_ bytes: [UInt8]) throws {
        let reader = try CheckpointReader(bytes: bytes)
        for record in reader.tensors { _ = try reader.read(record, threads: 1) }
    }

    @Test("metadata and random access to one tensor")
    func randomAccess() throws {
        let reader = try CheckpointReader(bytes: Self.small)
        try reader.verify()
        #expect(reader.metadata["round"] == "3")
        #expect(reader.tensors.map(\.name) == ["w.bf16", "w.f32", "ids", "w.lossy", "empty"])
        #expect(try reader.read("ids").bytes == (0..<16).map { UInt8($0) })
        #expect(try reader.read("empty").bytes == [])
        #expect(try reader.read("w.bf16").shape == [3, 5])
        #expect(throws: NeuZipError.self) { try reader.read("nope") }
    }

    @Test("every single-bit flip is detected, with and without the whole-file digest")
    func everyBitFlip() throws {
        let clean = Self.small
        #expect(clean.count > 300)
        let digestStart = clean.count - ContainerFormat.digestLength
        var missed: [Int] = []
        for bit in 0..<(clean.count * 8) {
            var bytes = clean
            bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            // The full check reads everything, including the SHA-256.
            if (try? CheckpointReader(bytes: bytes).verify(threads: 1)) != nil { missed.append(bit) }
            // Random access skips the digest, but CRCs still cover every other byte.
            if bit / 8 < digestStart, (try? Self.readAll(bytes)) != nil { missed.append(bit) }
        }
        #expect(missed.isEmpty, "undetected flips at bits \(missed.prefix(20))")
    }

    @Test("truncation at every byte is detected")
    func everyTruncation() {
        let clean = Self.small
        for length in 0..<clean.count {
            let bytes = Array(clean[0..<length])
            #expect(throws: NeuZipError.self) { try CheckpointReader(bytes: bytes).verify(threads: 1) }
        }
    }

    @Test("a file that is not a checkpoint says so")
    func notACheckpoint() throws {
        let safetensors = try SafeTensorsWriter.serialize(SafeTensorsTests.sample)
        do {
            _ = try CheckpointReader(bytes: safetensors + [UInt8](repeating: 0, count: 100))
            Issue.record("accepted a safetensors file")
        } catch let error as NeuZipError {
            #expect(error.code == .notACheckpoint)
        }
    }

    /// A file with the given payload and table, with correct CRC and SHA-256: a forgery that only
    /// field validation can catch.
    static func sealed(payload: [UInt8], table: [UInt8]) -> [UInt8] {
        let header = ContainerFormat.header()
        var bytes = header + payload + table
        bytes += ContainerFormat.trailer(header: header, table: table, tableOffset: header.count + payload.count)
        return bytes + SHA256.hash(bytes)
    }

    /// The raw table of one tensor record, with every field under the caller's control.
    static func table(
        metadataCount: UInt32 = 0, name: String = "t", dtype: String = "BF16", method: UInt8 = 1, keptBits: UInt8 = 7,
        blockSize: UInt32 = 0, elementsPerChunk: UInt32 = 4, shape: [UInt64] = [4], offset: UInt64 = 16,
        chunkCount: UInt32 = 1, chunks: [(UInt32, UInt32, UInt32)] = [(6, 2, 0)], nameLength: UInt32? = nil
    ) -> [UInt8] {
        var w = ByteWriter()
        w.u32(metadataCount)
        w.u32(1)
        if let nameLength {
            w.u32(nameLength)
        } else {
            w.string(name)
        }
        w.string(dtype)
        w.u8(method)
        w.u8(keptBits)
        w.u32(blockSize)
        w.u32(elementsPerChunk)
        w.u8(UInt8(truncatingIfNeeded: shape.count))
        for d in shape { w.u64(d) }
        w.f64(0)
        w.f64(0)
        w.u64(offset)
        w.u32(chunkCount)
        for c in chunks {
            w.u32(c.0)
            w.u32(c.1)
            w.u32(c.2)
        }
        return w.bytes
    }

    @Test("a sealed forgery that decodes is accepted (the forging helper is sound)")
    func forgeryBaseline() throws {
        let payload: [UInt8] = [2, 0x7F, 1, 2, 3, 4]  // constant exponent 0x7F, four residual bytes
        var table = Self.table()
        // Patch in the right chunk CRC (last four bytes).
        let crc = CRC32C.checksum(payload)
        for k in 0..<4 { table[table.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * k)) }
        let reader = try CheckpointReader(bytes: Self.sealed(payload: payload, table: table))
        #expect(try reader.read("t").bytes.count == 8)
    }

    @Test(
        "hostile tables with valid checksums are rejected before any large allocation",
        arguments: [
            ContainerTests.table(shape: [1 << 40, 1 << 40]),
            ContainerTests.table(elementsPerChunk: 1 << 30, shape: [1 << 30]),
            ContainerTests.table(shape: [UInt64.max]),
            ContainerTests.table(chunkCount: .max),
            ContainerTests.table(metadataCount: .max),
            ContainerTests.table(nameLength: .max),
            ContainerTests.table(shape: [UInt64](repeating: 1, count: 200)),
            ContainerTests.table(offset: 17),
            ContainerTests.table(keptBits: 3),
            ContainerTests.table(method: 9),
            ContainerTests.table(dtype: "F64"),
            ContainerTests.table(elementsPerChunk: 0),
            ContainerTests.table(chunks: [(6, 7, 0)]),
            ContainerTests.table(chunks: [(5, 2, 0)]),
            ContainerTests.table(method: 2, keptBits: 7, blockSize: 3),
            ContainerTests.table(method: 0, keptBits: 0, chunks: [(8, 0, 0)]),
        ])
    func hostileTables(table: [UInt8]) {
        let bytes = Self.sealed(payload: [2, 0x7F, 1, 2, 3, 4], table: table)
        // Opening alone must refuse it: the table is validated before any tensor is read.
        #expect(throws: NeuZipError.self) { _ = try CheckpointReader(bytes: bytes) }
    }

    @Test("a trailer pointing outside the file is rejected")
    func lyingTrailer() {
        var bytes = Self.small
        let trailer = bytes.count - ContainerFormat.digestLength - ContainerFormat.trailerLength
        for k in 0..<8 { bytes[trailer + 8 + k] = 0xFF }  // table length = huge
        #expect(throws: NeuZipError.self) { try CheckpointReader(bytes: bytes) }
    }

    @Test("safetensors → nzck → safetensors is byte-identical, from a file and from a model folder")
    func fileRoundTrip() throws {
        let folder = temporaryPath("model")
        try? FileOps.makeFolder(folder)
        let tensors = [
            RawTensor(
                name: "layer.weight", dtype: .bf16, shape: [64, 40],
                bytes: TestData.bytes(TestData.gaussian(2560, seed: 4), .bf16)),
            RawTensor(
                name: "layer.bias", dtype: .f32, shape: [40],
                bytes: TestData.bytes(TestData.gaussian(40, seed: 5), .fp32)),
            RawTensor(name: "half", dtype: .f16, shape: [3], bytes: TestData.bytes([1, -2, 65504], .fp16)),
            RawTensor(name: "pos", dtype: .i64, shape: [1, 2], bytes: (0..<16).map { UInt8($0) }),
        ]
        let input = folder + "/model.safetensors"
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt"], to: input)
        try FileOps.write(Array(#"{"model_type": "llama"}"#.utf8), to: folder + "/config.json")
        let original = try FileOps.read(input)
        for source in [input, folder] {
            let packed = temporaryPath("rt.nzck")
            let unpacked = temporaryPath("out/rt.safetensors")
            try? FileOps.makeFolder(temporaryPath("out"))
            try CompressedCheckpoint.compress(input: source, output: packed, mode: .lossless, elementsPerChunk: 1000)
            try CompressedCheckpoint.decompress(input: packed, output: unpacked, extractFiles: true)
            #expect(try FileOps.read(unpacked) == original)
            if source == folder {
                #expect(try FileOps.read(temporaryPath("out/config.json")) == Array(#"{"model_type": "llama"}"#.utf8))
            }
        }
    }
}
