/// Codes one chunk's exponent symbols: rANS with a per-chunk table, a single byte when the chunk holds
/// one symbol only, or the symbols as they are when coding would not make them smaller.
///
/// Section layout: a codec byte (`0` raw, `1` rANS, `2` constant), then the raw symbols, the symbol,
/// or the frequency table followed by the rANS stream.
enum ExponentCoder {
    /// How a chunk's exponents are stored.
    enum Codec: UInt8 {
        /// Symbols stored as bytes.
        case raw = 0
        /// rANS with a per-chunk table.
        case rans = 1
        /// Every symbol is the same one.
        case constant = 2
    }

    /// Histogram of `symbols`.
    static func histogram(_ symbols: UnsafeBufferPointer<UInt8>) -> [Int] {
        // Four partial histograms, so that runs of one symbol do not stall on the same counter.
        var counts = [Int](repeating: 0, count: 4 * 256)
        counts.withUnsafeMutableBufferPointer { c in
            var i = 0
            while i + 4 <= symbols.count {
                c[Int(symbols[i])] &+= 1
                c[256 &+ Int(symbols[i &+ 1])] &+= 1
                c[512 &+ Int(symbols[i &+ 2])] &+= 1
                c[768 &+ Int(symbols[i &+ 3])] &+= 1
                i &+= 4
            }
            while i < symbols.count {
                c[Int(symbols[i])] &+= 1
                i &+= 1
            }
        }
        return (0..<256).map { counts[$0] + counts[256 + $0] + counts[512 + $0] + counts[768 + $0] }
    }

    /// Encodes `symbols` (with their histogram `counts`) into the smallest of the three forms.
    static func encode(_ symbols: UnsafeBufferPointer<UInt8>, counts: [Int]) -> [UInt8] {
        let present = counts.lazy.filter { $0 > 0 }.count
        if present == 1 { return [Codec.constant.rawValue, symbols[0]] }
        var out: [UInt8] = [Codec.rans.rawValue]
        if present > 1 {
            let table = FrequencyTable(counts: counts)
            table.serialize(into: &out)
            out += RANS.encode(symbols, table: table)
            if out.count < 1 + symbols.count { return out }
        }
        return [Codec.raw.rawValue] + Array(symbols)
    }

    /// Decodes `count` symbols from `section` into `output`, validating every field.
    static func decode(_ section: UnsafeRawBufferPointer, count: Int, into output: UnsafeMutableBufferPointer<UInt8>)
        throws
    {
        guard let first = section.first, let codec = Codec(rawValue: first) else {
            throw NeuZipError.corrupt("an exponent section has an unknown codec")
        }
        let body = UnsafeRawBufferPointer(rebasing: section[1...])
        switch codec {
        case .raw:
            guard body.count == count else { throw NeuZipError.corrupt("a raw exponent section has the wrong length") }
            for i in 0..<count { output[i] = body[i] }
        case .constant:
            guard body.count == 1 else { throw NeuZipError.corrupt("a constant exponent section has the wrong length") }
            output.initialize(repeating: body[0])
        case .rans:
            let (table, used) = try FrequencyTable.deserialize(body)
            try RANS.decode(UnsafeRawBufferPointer(rebasing: body[used...]), table: table, count: count, into: output)
        }
    }
}
