/// A range-variant asymmetric numeral systems (rANS) coder over byte symbols, written from Duda's
/// description: state x ∈ [2^16, 2^32), 12-bit frequencies, 16-bit renormalisation (at most one word
/// per symbol), and four interleaved states so the decoder's dependency chains overlap.
///
/// Encoding runs backwards over the symbols and fills the word stream from its end; decoding reads it
/// forwards. Stream layout: the four final encoder states (u32 LE each), then the u16 LE words.
/// `encodeReference`/`decodeReference` are the single-state definitions kept beside the fast path.
enum RANS {
    /// Lower bound of the normalised state interval.
    static let lowerBound: UInt32 = 1 << 16
    /// Number of interleaved states.
    static let lanes = 4

    // Encoding step for symbol s with frequency f and start c (Duda, eq. for rANS):
    //   x' = ⌊x / f⌋ · M + (x mod f) + c,   M = 2^12,
    // preceded by emitting the low 16 bits while x ≥ (L / M) · 2^16 · f, which keeps x' in [L, 2^32).

    /// Encodes `symbols` with `table` (every symbol must have a non-zero frequency below 4096).
    static func encode(_ symbols: UnsafeBufferPointer<UInt8>, table: FrequencyTable) -> [UInt8] {
        let n = symbols.count
        // Worst case: one 16-bit word per symbol, plus the four 32-bit states in front.
        let capacity = 2 * n + 16
        var stream = [UInt8](repeating: 0, count: capacity)
        var position = capacity
        table.frequencies.withUnsafeBufferPointer { freq in
            table.starts.withUnsafeBufferPointer { start in
                stream.withUnsafeMutableBytes { out in
                    var x0 = lowerBound, x1 = lowerBound, x2 = lowerBound, x3 = lowerBound
                    @inline(__always)
                    func put(_ x: inout UInt32, _ symbol: UInt8) {
                        let f = freq[Int(symbol)]
                        if x >= f &<< 20 {
                            position &-= 2
                            out.storeBytes(
                                of: UInt16(truncatingIfNeeded: x).littleEndian, toByteOffset: position, as: UInt16.self)
                            x &>>= 16
                        }
                        let q = x / f
                        x = (q &<< 12) &+ (x &- q &* f) &+ start[Int(symbol)]
                    }
                    var i = n
                    while i % lanes != 0 {
                        i -= 1
                        switch i % lanes {
                        case 0: put(&x0, symbols[i])
                        case 1: put(&x1, symbols[i])
                        case 2: put(&x2, symbols[i])
                        default: put(&x3, symbols[i])
                        }
                    }
                    while i > 0 {
                        i -= 4
                        put(&x3, symbols[i + 3])
                        put(&x2, symbols[i + 2])
                        put(&x1, symbols[i + 1])
                        put(&x0, symbols[i])
                    }
                    // The final states go in front, state 0 first, for the decoder to read.
                    for x in [x3, x2, x1, x0] {
                        position -= 4
                        out.storeBytes(of: x.littleEndian, toByteOffset: position, as: UInt32.self)
                    }
                }
            }
        }
        return Array(stream[position...])
    }

    /// The slot → (symbol, frequency − 1, slot − start) lookup used by the decoder, packed in 32 bits.
    static func decodeTable(_ table: FrequencyTable) -> [UInt32] {
        var slots = [UInt32](repeating: 0, count: FrequencyTable.total)
        for s in 0..<256 where table.frequencies[s] > 0 {
            let f = table.frequencies[s]
            let c = table.starts[s]
            for slot in c..<(c + f) {
                slots[Int(slot)] = UInt32(s) | (f - 1) << 8 | (slot - c) << 20
            }
        }
        return slots
    }

    /// Decodes `count` symbols from `stream` into `output`; throws if the stream is malformed
    /// (too short, too long, or not ending in the initial states), never reading out of bounds.
    static func decode(
        _ stream: UnsafeRawBufferPointer, table: FrequencyTable, count: Int,
        into output: UnsafeMutableBufferPointer<UInt8>
    ) throws {
        guard stream.count >= 16, stream.count % 2 == 0 else {
            throw NeuZipError.corrupt("an rANS stream has a bad length")
        }
        let slots = decodeTable(table)
        let wordCount = (stream.count - 16) / 2
        var x0 = UInt32(littleEndian: stream.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        var x1 = UInt32(littleEndian: stream.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        var x2 = UInt32(littleEndian: stream.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        var x3 = UInt32(littleEndian: stream.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        var next = 0
        let words = stream.baseAddress! + 16
        var failed = false
        slots.withUnsafeBufferPointer { slots in
            @inline(__always)
            func get(_ x: inout UInt32) -> UInt8 {
                let entry = slots[Int(x & 0xFFF)]
                x = ((entry >> 8) & 0xFFF &+ 1) &* (x >> 12) &+ (entry >> 20)
                if x < lowerBound {
                    x =
                        x << 16
                        | UInt32(UInt16(littleEndian: words.loadUnaligned(fromByteOffset: 2 * next, as: UInt16.self)))
                    next += 1
                }
                return UInt8(truncatingIfNeeded: entry)
            }
            var i = 0
            // Fast path: four symbols read at most four words, so bounds are checked once per group.
            while i + 4 <= count && next + 4 <= wordCount {
                output[i] = get(&x0)
                output[i + 1] = get(&x1)
                output[i + 2] = get(&x2)
                output[i + 3] = get(&x3)
                i += 4
            }
            while i < count {
                // Careful tail: check before every read.
                let lane = i % lanes
                var x = lane == 0 ? x0 : lane == 1 ? x1 : lane == 2 ? x2 : x3
                let entry = slots[Int(x & 0xFFF)]
                x = ((entry >> 8) & 0xFFF &+ 1) &* (x >> 12) &+ (entry >> 20)
                if x < lowerBound {
                    guard next < wordCount else {
                        failed = true
                        return
                    }
                    x =
                        x << 16
                        | UInt32(UInt16(littleEndian: words.loadUnaligned(fromByteOffset: 2 * next, as: UInt16.self)))
                    next += 1
                }
                output[i] = UInt8(truncatingIfNeeded: entry)
                switch lane {
                case 0: x0 = x
                case 1: x1 = x
                case 2: x2 = x
                default: x3 = x
                }
                i += 1
            }
        }
        guard !failed, next == wordCount, x0 == lowerBound, x1 == lowerBound, x2 == lowerBound, x3 == lowerBound else {
            throw NeuZipError.corrupt("an rANS stream does not decode cleanly")
        }
    }

    /// Single-state reference encoder: the plain definition, one symbol at a time. Layout: state (u32 LE), words.
    static func encodeReference(_ symbols: [UInt8], table: FrequencyTable) -> [UInt8] {
        var x = lowerBound
        var words: [UInt16] = []
        for symbol in symbols.reversed() {
            let f = table.frequencies[Int(symbol)]
            while UInt64(x) >= (UInt64(lowerBound) >> 12) << 16 * UInt64(f) {
                words.append(UInt16(truncatingIfNeeded: x))
                x >>= 16
            }
            x = (x / f) << 12 + x % f + table.starts[Int(symbol)]
        }
        var out = withUnsafeBytes(of: x.littleEndian) { Array($0) }
        for word in words.reversed() { out += [UInt8(truncatingIfNeeded: word), UInt8(truncatingIfNeeded: word >> 8)] }
        return out
    }

    /// Single-state reference decoder (returns nil on a malformed stream).
    static func decodeReference(_ stream: [UInt8], table: FrequencyTable, count: Int) -> [UInt8]? {
        guard stream.count >= 4, stream.count % 2 == 0 else { return nil }
        var x = UInt32(stream[0]) | UInt32(stream[1]) << 8 | UInt32(stream[2]) << 16 | UInt32(stream[3]) << 24
        var next = 4
        var out: [UInt8] = []
        for _ in 0..<count {
            let slot = x & 0xFFF
            guard
                let s = (0..<256).first(where: {
                    table.frequencies[$0] > 0 && slot < table.starts[$0] + table.frequencies[$0]
                })
            else { return nil }
            out.append(UInt8(s))
            x = table.frequencies[s] * (x >> 12) + slot - table.starts[s]
            while x < lowerBound {
                guard next + 2 <= stream.count else { return nil }
                x = x << 16 | UInt32(stream[next]) | UInt32(stream[next + 1]) << 8
                next += 2
            }
        }
        return next == stream.count && x == lowerBound ? out : nil
    }
}
