import QuorumCore
/// How the activations entering a ternary (BitNet) linear layer are quantized, per token (a4.8, docs/papers.md §2).
public enum ActivationQuantizer: String, Codable, Sendable, CaseIterable {
    /// INT8 absmax: b1.58 everywhere, and a4.8's FFN down projection.
    case int8Absmax = "int8"
    /// INT4 absmean: a4.8's q/k/v and up/gate projections.
    case int4Absmean = "int4"
    /// Keep the top 50 % by |x|, then INT8 absmax: a4.8's attention output projection.
    case topHalfInt8 = "top50-int8"
}

/// A serving format for one linear layer's weights and input activations.
public enum QuantFormat: Hashable, Codable, Sendable {
    /// Unquantized fp32 weights (the reference and the speed baseline).
    case fp32
    /// bfloat16 weights, fp32 activations and arithmetic.
    case bf16
    /// int8 weights per output channel, dynamic per-token int8 activations, int32 accumulation.
    case w8a8Int
    /// FP8 E4M3 weights per output channel, dynamic per-token E4M3 activations (emulated in fp32).
    case w8a8FP
    /// int4 weights in groups of 128 inputs with MSE-optimal clipping; 16-bit activations (int16 codes
    /// with one absmax scale per group).
    case w4a16Int
    /// Ternary absmean weights (one scale per tensor) with the given activation quantizer.
    case ternary(ActivationQuantizer)

    /// A short stable name, e.g. for JSON reports: fp32, bf16, w8a8, w8a8-fp, w4a16, ternary-int8, …
    public var name: String {
        switch self {
        case .fp32: "fp32"
        case .bf16: "bf16"
        case .w8a8Int: "w8a8"
        case .w8a8FP: "w8a8-fp"
        case .w4a16Int: "w4a16"
        case .ternary(let a): "ternary-\(a.rawValue)"
        }
    }

    /// The format with this `name` (e.g. from a `--format` option), or nil.
    public init?(name: String) {
        guard let format = Self.all.first(where: { $0.name == name }) else { return nil }
        self = format
    }

    /// Every format, ternary with each activation quantizer.
    public static let all: [QuantFormat] =
        [.fp32, .bf16, .w8a8Int, .w8a8FP, .w4a16Int] + ActivationQuantizer.allCases.map { .ternary($0) }

    /// Whether activations become int8 codes (so the integer kernels and zero skipping apply).
    public var hasIntegerActivations: Bool {
        switch self {
        case .w8a8Int, .ternary: true
        default: false
        }
    }
}

/// Packed weights of one linear layer at the byte level, ready for a checkpoint writer: the shape,
/// one byte array and one fp32 scale array. Rows (output features) are padded with zero weights to
/// `rowStride` elements so the SIMD kernels need no tail code.
///
/// Byte layouts (little-endian), per `layout`:
/// - `fp32`: 4 bytes per weight; no scales. `bf16`: 2 bytes per weight (bfloat16 bits); no scales.
/// - `int8`: one two's-complement byte per weight, codes in [−127, 127]; one scale per row.
/// - `e4m3`: one FP8 E4M3 code per weight; one scale per row.
/// - `int4Groups`: two weights per byte, stored as q + 8; per 64-weight block of 32 bytes, byte j
///   holds weight j (low nibble) and weight j + 32 (high nibble); `groupsPerRow` scales per row
///   (groups of 128 inputs, the last one possibly shorter; see `Quantize.int4GroupCount`).
/// - `ternary2Bit`: four weights per byte, stored as t + 1 in {0, 1, 2}; per 128-weight block of 32
///   bytes, byte j holds weights j, j+32, j+64, j+96 in bits 0–1, 2–3, 4–5, 6–7; one scale (α).
public struct PackedMatrix: Hashable, Codable, Sendable {
    /// The storage layouts.
    public enum Layout: String, Hashable, Codable, Sendable {
        case fp32, bf16, int8, e4m3, int4Groups, ternary2Bit

        /// Row padding (elements) the kernels need.
        public var rowAlignment: Int {
            switch self {
            case .fp32, .bf16, .e4m3: 16
            case .int8: 32
            case .int4Groups: 64
            case .ternary2Bit: 128
            }
        }

        /// Stored bits per weight (excluding scales).
        public var bitsPerWeight: Int {
            switch self {
            case .fp32: 32
            case .bf16: 16
            case .int8, .e4m3: 8
            case .int4Groups: 4
            case .ternary2Bit: 2
            }
        }
    }

    /// Storage layout.
    public var layout: Layout
    /// Rows: output features.
    public var outFeatures: Int
    /// Logical columns: input features.
    public var inFeatures: Int
    /// Stored elements per row (`inFeatures` rounded up to `layout.rowAlignment`).
    public var rowStride: Int
    /// Scale groups per row (1 except for `int4Groups`).
    public var groupsPerRow: Int
    /// The packed weights.
    public var bytes: [UInt8]
    /// Scales: none (fp32, bf16), one per row (int8, e4m3), rows × groupsPerRow (int4Groups), one (ternary2Bit).
    public var scales: [Float]

    /// Bytes of packed weights plus scales.
    public var storedBytes: Int { bytes.count + 4 * scales.count }

    /// Bytes per packed row.
    public var rowBytes: Int { rowStride * layout.bitsPerWeight / 8 }

    /// Stored elements per row for `inFeatures` inputs in `layout` (rounded up to its alignment).
    public static func stride(_ inFeatures: Int, _ layout: Layout) -> Int {
        (inFeatures + layout.rowAlignment - 1) / layout.rowAlignment * layout.rowAlignment
    }

    /// Wraps already packed data; checks that the sizes agree with the layout.
    public init(
        layout: Layout, outFeatures: Int, inFeatures: Int, groupsPerRow: Int = 1, bytes: [UInt8], scales: [Float]
    ) {
        self.layout = layout
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.rowStride = Self.stride(inFeatures, layout)
        self.groupsPerRow = groupsPerRow
        self.bytes = bytes
        self.scales = scales
        precondition(outFeatures > 0 && inFeatures > 0, "a linear layer needs positive outFeatures and inFeatures")
        precondition(bytes.count == outFeatures * rowBytes, "packed byte count does not match the shape")
    }

    /// Quantizes and packs row-major fp32 weights `[outFeatures × inFeatures]` for `format`.
    public init(weights: [Float], outFeatures: Int, inFeatures: Int, format: QuantFormat) {
        precondition(weights.count == outFeatures * inFeatures, "weights must hold outFeatures × inFeatures values")
        let rows = outFeatures, columns = inFeatures
        switch format {
        case .fp32:
            let stride = Self.stride(columns, .fp32)
            var bytes = [UInt8](repeating: 0, count: rows * stride * 4)
            for r in 0..<rows {
                for c in 0..<columns {
                    Self.store(weights[r * columns + c].bitPattern, at: (r * stride + c) * 4, in: &bytes)
                }
            }
            self.init(layout: .fp32, outFeatures: rows, inFeatures: columns, bytes: bytes, scales: [])
        case .bf16:
            let stride = Self.stride(columns, .bf16)
            var bytes = [UInt8](repeating: 0, count: rows * stride * 2)
            for r in 0..<rows {
                for c in 0..<columns {
                    Self.store(BF16.encode(weights[r * columns + c]), at: (r * stride + c) * 2, in: &bytes)
                }
            }
            self.init(layout: .bf16, outFeatures: rows, inFeatures: columns, bytes: bytes, scales: [])
        case .w8a8Int:
            let (codes, scales) = Quantize.int8PerChannel(weights, rows: rows, columns: columns)
            let stride = Self.stride(columns, .int8)
            var bytes = [UInt8](repeating: 0, count: rows * stride)
            for r in 0..<rows {
                for c in 0..<columns { bytes[r * stride + c] = UInt8(bitPattern: codes[r * columns + c]) }
            }
            self.init(layout: .int8, outFeatures: rows, inFeatures: columns, bytes: bytes, scales: scales)
        case .w8a8FP:
            let (codes, scales) = Quantize.e4m3PerRow(weights, rows: rows, columns: columns)
            let stride = Self.stride(columns, .e4m3)
            var bytes = [UInt8](repeating: 0, count: rows * stride)
            for r in 0..<rows {
                for c in 0..<columns { bytes[r * stride + c] = codes[r * columns + c] }
            }
            self.init(layout: .e4m3, outFeatures: rows, inFeatures: columns, bytes: bytes, scales: scales)
        case .w4a16Int:
            let (codes, scales, groups) = Quantize.int4Groups(weights, rows: rows, columns: columns)
            self.init(
                layout: .int4Groups, outFeatures: rows, inFeatures: columns, groupsPerRow: groups,
                bytes: Self.packInt4(codes, rows: rows, columns: columns), scales: scales)
        case .ternary:
            let (codes, alpha) = Quantize.ternaryAbsmean(weights)
            self.init(
                layout: .ternary2Bit, outFeatures: rows, inFeatures: columns,
                bytes: Self.packTernary(codes, rows: rows, columns: columns), scales: [alpha])
        }
    }

    private static func store<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<(T.bitWidth / 8) { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    /// Packs int4 codes in [−8, 7] (row-major, `columns` per row) into the `int4Groups` byte layout.
    public static func packInt4(_ codes: [Int8], rows: Int, columns: Int) -> [UInt8] {
        let stride = Self.stride(columns, .int4Groups)
        var bytes = [UInt8](repeating: 0x88, count: rows * stride / 2)  // padding: q = 0 in both nibbles
        for r in 0..<rows {
            for c in 0..<columns {
                let nibble = UInt8(Int(codes[r * columns + c]) + 8)
                let (block, j) = c.quotientAndRemainder(dividingBy: 64)
                let index = r * stride / 2 + block * 32 + j % 32
                bytes[index] = j < 32 ? (bytes[index] & 0xf0) | nibble : (bytes[index] & 0x0f) | (nibble << 4)
            }
        }
        return bytes
    }

    /// Packs ternary codes in {−1, 0, 1} (row-major, `columns` per row) into the `ternary2Bit` layout.
    public static func packTernary(_ codes: [Int8], rows: Int, columns: Int) -> [UInt8] {
        let stride = Self.stride(columns, .ternary2Bit)
        var bytes = [UInt8](repeating: 0b0101_0101, count: rows * stride / 4)  // padding: t = 0 everywhere
        for r in 0..<rows {
            for c in 0..<columns {
                let (block, j) = c.quotientAndRemainder(dividingBy: 128)
                let index = r * stride / 4 + block * 32 + j % 32
                let shift = UInt8(2 * (j / 32))
                let code = UInt8(Int(codes[r * columns + c]) + 1)
                bytes[index] = (bytes[index] & ~(3 << shift)) | (code << shift)
            }
        }
        return bytes
    }

    /// The integer code of weight (row, column): int8 / int4 / ternary layouts only.
    public func code(row: Int, column: Int) -> Int8 {
        switch layout {
        case .int8:
            return Int8(bitPattern: bytes[row * rowStride + column])
        case .int4Groups:
            let (block, j) = column.quotientAndRemainder(dividingBy: 64)
            let byte = bytes[row * rowStride / 2 + block * 32 + j % 32]
            return Int8(Int(j < 32 ? byte & 15 : byte >> 4) - 8)
        case .ternary2Bit:
            let (block, j) = column.quotientAndRemainder(dividingBy: 128)
            let byte = bytes[row * rowStride / 4 + block * 32 + j % 32]
            return Int8(Int((byte >> UInt8(2 * (j / 32))) & 3) - 1)
        case .fp32, .bf16, .e4m3:
            preconditionFailure("\(layout) has no integer codes")
        }
    }

    /// The scale that multiplies code (row, column), or 1 for the float layouts.
    public func scale(row: Int, column: Int) -> Float {
        switch layout {
        case .fp32, .bf16: 1
        case .int8, .e4m3: scales[row]
        case .int4Groups: scales[row * groupsPerRow + column / Quantize.int4GroupSize]
        case .ternary2Bit: scales[0]
        }
    }

    /// Weight (row, column) without its scale: the decoded float (fp32/bf16/e4m3) or the integer code.
    public func unscaled(row: Int, column: Int) -> Float {
        switch layout {
        case .fp32:
            let o = (row * rowStride + column) * 4
            return Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[o + $1]) << (8 * $1) })
        case .bf16:
            let o = (row * rowStride + column) * 2
            return BF16.decode(UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8)
        case .e4m3:
            return E4M3.decode(bytes[row * rowStride + column])
        case .int8, .int4Groups, .ternary2Bit:
            return Float(code(row: row, column: column))
        }
    }

    /// The weights as the format represents them, row-major `[outFeatures × inFeatures]`:
    /// decoded value × scale (for int4, the code times its group scale).
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: outFeatures * inFeatures)
        for r in 0..<outFeatures {
            for c in 0..<inFeatures {
                out[r * inFeatures + c] = unscaled(row: r, column: c) * scale(row: r, column: c)
            }
        }
        return out
    }
}
