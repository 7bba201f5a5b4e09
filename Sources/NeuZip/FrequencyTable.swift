internal import Foundation

/// Symbol frequencies normalised to sum to 2^12, the table an rANS chunk is coded with.
///
/// Serialised as: symbol count − 1 (u8), then per symbol in increasing order: symbol (u8), frequency − 1 (u16 LE).
struct FrequencyTable: Sendable, Hashable {
    /// Precision of the normalised frequencies (they sum to 1 << scaleBits).
    static let scaleBits = 12
    /// The total every table sums to.
    static let total = 1 << scaleBits

    /// Normalised frequency per symbol (0 for absent symbols).
    var frequencies: [UInt32]
    /// Cumulative frequency: the start of each symbol's slot range.
    var starts: [UInt32]

    /// The empirical Shannon entropy of `counts`, in bits per symbol.
    static func entropy(of counts: [Int]) -> Double {
        let n = Double(counts.reduce(0, +))
        guard n > 0 else { return 0 }
        var h = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / n
            h -= p * log2(p)
        }
        return h
    }

    /// Normalises `counts` (256 entries, at least two non-zero) so every present symbol keeps a
    /// frequency ≥ 1 and the sum is exactly `total`; rounding is corrected where it costs the fewest bits.
    init(counts: [Int]) {
        let n = counts.reduce(0, +)
        var freq = [UInt32](repeating: 0, count: 256)
        var sum = 0
        for s in 0..<256 where counts[s] > 0 {
            let scaled = Int((Double(counts[s]) * Double(Self.total) / Double(n)).rounded())
            freq[s] = UInt32(max(1, scaled))
            sum += Int(freq[s])
        }
        // Fix the sum one step at a time, each time changing the symbol whose code length moves least
        // per unit of count (cost of f → f∓1 is about count · log2(f / (f∓1))).
        while sum != Self.total {
            var best = -1
            var bestCost = Double.infinity
            let up = sum < Self.total
            for s in 0..<256 where counts[s] > 0 {
                let f = Double(freq[s])
                if !up && freq[s] <= 1 { continue }
                let cost = up ? -Double(counts[s]) * log2((f + 1) / f) : Double(counts[s]) * log2(f / (f - 1))
                if cost < bestCost {
                    bestCost = cost
                    best = s
                }
            }
            freq[best] = up ? freq[best] + 1 : freq[best] - 1
            sum += up ? 1 : -1
        }
        self.init(frequencies: freq)
    }

    /// A table from already-normalised frequencies.
    init(frequencies: [UInt32]) {
        self.frequencies = frequencies
        var starts = [UInt32](repeating: 0, count: 256)
        var running: UInt32 = 0
        for s in 0..<256 {
            starts[s] = running
            running += frequencies[s]
        }
        self.starts = starts
    }

    /// The number of present symbols.
    var symbolCount: Int { frequencies.lazy.filter { $0 > 0 }.count }

    /// Serialised size in bytes.
    var serializedCount: Int { 1 + 3 * symbolCount }

    /// Appends the serialised table to `out`.
    func serialize(into out: inout [UInt8]) {
        out.append(UInt8(symbolCount - 1))
        for s in 0..<256 where frequencies[s] > 0 {
            out.append(UInt8(s))
            out.append(UInt8(truncatingIfNeeded: frequencies[s] - 1))
            out.append(UInt8(truncatingIfNeeded: (frequencies[s] - 1) >> 8))
        }
    }

    /// Reads a table from the front of `bytes`, checking every field; returns it and its length.
    static func deserialize(_ bytes: UnsafeRawBufferPointer) throws -> (FrequencyTable, Int) {
        guard bytes.count >= 1 else { throw NeuZipError.corrupt("an rANS frequency table is cut short") }
        let count = Int(bytes[0]) + 1
        let length = 1 + 3 * count
        guard bytes.count >= length else { throw NeuZipError.corrupt("an rANS frequency table is cut short") }
        var freq = [UInt32](repeating: 0, count: 256)
        var previous = -1
        var sum = 0
        for i in 0..<count {
            let symbol = Int(bytes[1 + 3 * i])
            let f = (UInt32(bytes[2 + 3 * i]) | UInt32(bytes[3 + 3 * i]) << 8) + 1
            guard symbol > previous, f < UInt32(total) else {
                throw NeuZipError.corrupt("an rANS frequency table is malformed")
            }
            previous = symbol
            freq[symbol] = f
            sum += Int(f)
        }
        guard sum == total, count >= 2 else {
            throw NeuZipError.corrupt("an rANS frequency table does not sum to 4096")
        }
        return (FrequencyTable(frequencies: freq), length)
    }
}
