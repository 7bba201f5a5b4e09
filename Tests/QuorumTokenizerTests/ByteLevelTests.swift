import Testing

@testable import QuorumTokenizer

@Suite("GPT-2 byte-to-unicode mapping")
struct ByteLevelTests {
    @Test("maps all 256 bytes to distinct printable scalars")
    func bijection() {
        #expect(Set(ByteLevel.scalarForByte).count == 256)
        #expect(ByteLevel.byteForScalar.count == 256)
        for scalar in ByteLevel.scalarForByte {
            #expect(!scalar.properties.isWhitespace && scalar.properties.generalCategory != .control)
        }
    }

    @Test(
        "matches GPT-2's well-known assignments",
        arguments: [
            (UInt8(ascii: " "), "Ġ"), (UInt8(ascii: "\n"), "Ċ"), (UInt8(ascii: "\t"), "ĉ"), (0, "Ā"),
            (UInt8(ascii: "A"), "A"), (0xAD, "Ń"), (0x7F, "ġ"), (0xFF, "ÿ"),
        ] as [(UInt8, String)])
    func knownBytes(byte: UInt8, expected: String) {
        #expect(ByteLevel.encode([byte]) == expected)
    }

    @Test("round-trips every byte sequence")
    func roundTrip() {
        let bytes = (0...255).map(UInt8.init) + [0xF0, 0x9F, 0x98, 0x80, 0xC3]
        #expect(ByteLevel.decode(ByteLevel.encode(bytes)) == bytes)
        #expect(ByteLevel.decode("héllo☃") == nil)
    }
}
