/// GPT-2's reversible byte-to-character mapping, used by byte-level BPE.
///
/// Every byte value is shown as one printable Unicode scalar so that a token can be written as an
/// ordinary string in `tokenizer.json`: the printable Latin-1 bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) keep
/// their own code point, and the remaining 68 bytes (controls, space, soft hyphen…) take the code
/// points from U+0100 upwards in byte order. Space (0x20) therefore becomes `Ġ` and newline `Ċ`.
public enum ByteLevel {
    /// The scalar that stands for each byte, indexed by byte value.
    public static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if keepsOwnCodePoint(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte each mapped scalar stands for; the inverse of ``scalarForByte``.
    public static let byteForScalar: [Unicode.Scalar: UInt8] = {
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (byte, scalar) in scalarForByte.enumerated() { inverse[scalar] = UInt8(byte) }
        return inverse
    }()

    /// The byte-level string for raw bytes (one scalar per byte).
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var view = String.UnicodeScalarView()
        for byte in bytes { view.append(scalarForByte[Int(byte)]) }
        return String(view)
    }

    /// The raw bytes of a byte-level string, or nil if it holds a scalar outside the mapping.
    public static func decode(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let byte = byteForScalar[scalar] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// Whether a byte is printable Latin-1 and so is shown as itself.
    private static func keepsOwnCodePoint(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}
