import QuorumDigest
import Testing
import QuorumCore

@Suite("SHA-256 and CRC32C")
struct DigestTests {
    @Test(
        "SHA-256 FIPS 180 vectors",
        arguments: [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
            (
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
            ),
        ])
    func sha256Vectors(message: String, hex: String) {
        #expect(SHA256.hexDigest(message) == hex)
    }

    @Test("SHA-256 of one million 'a', fed in uneven pieces")
    func sha256Million() {
        var hasher = SHA256()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var fed = 0
        while fed < 1_000_000 {
            let n = min(piece.count, 1_000_000 - fed)
            hasher.update(piece[0..<n])
            fed += n
        }
        #expect(Hex.encode(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("SHA-256 streaming equals one-shot for every split point")
    func sha256Splits() {
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = SHA256.hash(message)
        for split in 0...message.count {
            var hasher = SHA256()
            hasher.update(message[0..<split])
            hasher.update(message[split...])
            #expect(hasher.finalize() == whole)
        }
    }

    @Test(
        "CRC32C vectors (RFC 3720 iSCSI and the check value)",
        arguments: [
            (Array("123456789".utf8), UInt32(0xE306_9283)),
            ([UInt8](repeating: 0, count: 32), UInt32(0x8A91_36AA)),
            ([UInt8](repeating: 0xFF, count: 32), UInt32(0x62A8_AB43)),
            ((0..<32).map { UInt8($0) }, UInt32(0x46DD_794E)),
            ((0..<32).map { UInt8(31 - $0) }, UInt32(0x113F_DB5C)),
            ([], UInt32(0)),
        ])
    func crcVectors(bytes: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(bytes) == expected)
        #expect(CRC32C.referenceChecksum(bytes) == expected)
    }

    @Test("CRC32C slicing-by-8 agrees with the bitwise reference, incrementally")
    func crcAgreesWithReference() {
        var rng = SplitMix64(seed: 42)
        for length in [1, 7, 8, 9, 63, 64, 65, 1000, 4097] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let expected = CRC32C.referenceChecksum(bytes)
            #expect(CRC32C.checksum(bytes) == expected)
            let cut = Int(rng.next() % UInt64(length + 1))
            var crc = CRC32C()
            crc.update(bytes[0..<cut])
            crc.update(bytes[cut...])
            #expect(crc.value == expected)
        }
    }
}

/// A small deterministic generator for reproducible tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1330_11EB
        return z ^ (z >> 31)
    }
}
