import SafeTensors

@testable import NeuZip
import QuorumCore

/// Deterministic tensors for the codec tests.
enum TestData {
    /// Normal(0, sigma) samples (Box–Muller).
    static func gaussian(_ count: Int, sigma: Float = 0.02, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let u1 = max(Float.leastNormalMagnitude, Float(rng.next() >> 40) / Float(1 << 24))
            let u2 = Float(rng.next() >> 40) / Float(1 << 24)
            return sigma * (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
        }
    }

    /// Raw little-endian bytes of `values` in `format` (round to nearest even).
    static func bytes(_ values: [Float], _ format: FloatFormat) -> [UInt8] {
        bytes(bits: values.map { format.fromFloat($0) }, format)
    }

    /// Raw little-endian bytes of raw element bits.
    static func bytes(bits: [UInt32], _ format: FloatFormat) -> [UInt8] {
        var out = [UInt8]()
        for b in bits {
            for k in 0..<format.byteSize { out.append(UInt8(truncatingIfNeeded: b >> UInt32(8 * k))) }
        }
        return out
    }

    /// Raw element bits of little-endian bytes.
    static func bits(_ bytes: [UInt8], _ format: FloatFormat) -> [UInt32] {
        bytes.withUnsafeBytes { raw in (0..<(bytes.count / format.byteSize)).map { format.load(raw, $0) } }
    }

    /// Every awkward bit pattern of `format`: signed zeros, subnormals, extremes, infinities, NaN payloads.
    static func specials(_ format: FloatFormat) -> [UInt32] {
        let sign = format.signBit
        let inf = format.infinityBits
        let mantissaMask = (UInt32(1) << UInt32(format.mantissaBits)) - 1
        let one = (UInt32(1) << UInt32(format.exponentBits - 1) - 1) << UInt32(format.mantissaBits)
        let magnitudes: [UInt32] = [
            0, 1, 2, mantissaMask, mantissaMask + 1, one, one | 1, one | mantissaMask, inf - 1, inf - 2,
            inf, inf | 1, inf | mantissaMask, inf | (1 << UInt32(format.mantissaBits - 1)), inf | 0b101,
        ]
        return magnitudes + magnitudes.map { $0 | sign }
    }

    /// A mix of Gaussian weights and special values, shuffled deterministically.
    static func adversarial(_ format: FloatFormat, count: Int, seed: UInt64) -> [UInt32] {
        var rng = SplitMix64(seed: seed)
        let specials = specials(format)
        let normal = gaussian(count, seed: seed).map { format.fromFloat($0) }
        return normal.map { rng.next() % 4 == 0 ? specials[Int(rng.next() % UInt64(specials.count))] : $0 }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Minimal file helpers for tests (no Foundation needed).
enum FileOps {
    static func makeFolder(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw NeuZipError(.io, "mkdir \(path)") }
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard let f = fopen(path, "wb") else { throw NeuZipError(.io, "open \(path)") }
        defer { fclose(f) }
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, f) }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw NeuZipError(.io, "open \(path)") }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, 65536, f) }
            if n == 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}
