import SafeTensors
import Testing

@Suite("SafeTensors reader and writer")
struct SafeTensorsTests {
    static let sample = [
        RawTensor(name: "b", dtype: .f32, shape: [2], bytes: [0, 0, 128, 63, 0, 0, 0, 64]),
        RawTensor(name: "a", dtype: .bf16, shape: [1, 3], bytes: [1, 2, 3, 4, 5, 6]),
        RawTensor(name: "ids", dtype: .i64, shape: [], bytes: [7, 0, 0, 0, 0, 0, 0, 0]),
        RawTensor(name: "empty", dtype: .u8, shape: [0, 4], bytes: []),
    ]

    @Test("serialize then parse gives the same tensors, sorted by name, header padded to 8")
    func roundTrip() throws {
        let bytes = try SafeTensorsWriter.serialize(Self.sample, metadata: ["format": "pt", "q\"uote": "line\nbreak"])
        let (header, dataStart) = try SafeTensorsHeader.parse(file: bytes)
        #expect((dataStart - 8) % 8 == 0)
        #expect(header.tensors.map(\.name) == ["a", "b", "empty", "ids"])
        #expect(header.metadata == ["format": "pt", "q\"uote": "line\nbreak"])
        for tensor in Self.sample {
            let info = try #require(header[tensor.name])
            #expect(info.dtype == tensor.dtype && info.shape == tensor.shape)
            #expect(
                Array(bytes[(dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)])
                    == tensor.bytes)
        }
    }

    @Test("file writer and random-access reader agree")
    func fileRoundTrip() throws {
        let path = temporaryPath("st-roundtrip.safetensors")
        try SafeTensorsWriter.write(Self.sample, metadata: ["k": "v"], to: path)
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == ["k": "v"])
        for tensor in Self.sample { #expect(try file.read(tensor.name) == tensor.bytes) }
        #expect(throws: SafeTensorsError.self) { try file.read("missing") }
    }

    /// A file whose JSON header is `json` followed by `data`.
    static func file(json: String, data: [UInt8]) -> [UInt8] {
        var body = Array(json.utf8)
        while body.count % 8 != 0 { body.append(32) }
        return withUnsafeBytes(of: UInt64(body.count).littleEndian) { Array($0) } + body + data
    }

    @Test(
        "invalid files are rejected with the right code",
        arguments: [
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, 4, SafeTensorsError.Code.truncated),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8, .badLayout),
            (#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, 8, .badLayout),
            (#"{"a":{"dtype":"X9","shape":[2],"data_offsets":[0,8]}}"#, 8, .unknownDType),
            (
                #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
                6, .badLayout
            ),
            (
                #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[6,10]}}"#,
                10, .badLayout
            ),
            (#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,0]}}"#, 4, .badLayout),
            (#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, 5, .badLayout),
            (#"{"a":{"dtype":"U8","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, 4, .badLayout),
            (#"{"a":{"dtype":"U8","shape":[4]}}"#, 4, .badHeader),
            (#"["not an object"]"#, 0, .badHeader),
            (#"{"a": nonsense"#, 0, .badHeader),
        ])
    func rejects(json: String, dataCount: Int, code: SafeTensorsError.Code) {
        let bytes = Self.file(json: json, data: [UInt8](repeating: 0, count: dataCount))
        #expect(throws: SafeTensorsError.self) { _ = try SafeTensorsHeader.parse(file: bytes) }
        do { _ = try SafeTensorsHeader.parse(file: bytes) } catch let error as SafeTensorsError {
            #expect(error.code == code, "\(error)")
        } catch { Issue.record("unexpected error \(error)") }
    }

    @Test("a header length larger than the file, or absurd, is rejected before reading it")
    func lyingHeaderLength() {
        var bytes = Self.file(json: "{}", data: [])
        for length: UInt64 in [1 << 62, UInt64(bytes.count), 0] {
            withUnsafeBytes(of: length.littleEndian) { for i in 0..<8 { bytes[i] = $0[i] } }
            #expect(throws: SafeTensorsError.self) { _ = try SafeTensorsHeader.parse(file: bytes) }
        }
        #expect(throws: SafeTensorsError.self) { _ = try SafeTensorsHeader.parse(file: [1, 2, 3]) }
    }

    @Test("the writer refuses duplicate names and wrong byte counts")
    func writerValidation() {
        #expect(throws: SafeTensorsError.self) {
            _ = try SafeTensorsWriter.serialize([Self.sample[0], Self.sample[0]])
        }
        #expect(throws: SafeTensorsError.self) {
            _ = try SafeTensorsWriter.serialize([RawTensor(name: "x", dtype: .f32, shape: [3], bytes: [0, 0, 0, 0])])
        }
    }
}

/// A fresh path in the temporary folder for this test process.
func temporaryPath(_ name: String) -> String {
    "/tmp/neuzip-tests-\(ProcessInfoLite.pid)-\(name)"
}

/// The process id, without Foundation.
enum ProcessInfoLite {
    static let pid: Int32 = getpid()
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
