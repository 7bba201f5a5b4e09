/// The GGUF v3 container, as the GGUF specification (ggml's `docs/gguf.md`) lays it out; every
/// integer is little-endian:
///
/// 1. Header: magic `"GGUF"`, `u32` version (3), `u64` tensor count, `u64` metadata count.
/// 2. Metadata: for each entry a string key, a `u32` value type, the value. A string is a `u64`
///    byte length and UTF-8 bytes; an array is an element type, a `u64` count and the elements.
/// 3. Tensor infos: name (string), `u32` dimension count, that many `u64` extents with the
///    contiguous (row) dimension first — ggml's `ne[0]`, so a PyTorch `[out, in]` weight is
///    `[in, out]` here — a `u32` ggml type, and a `u64` offset into the data section.
/// 4. Padding to the alignment (`general.alignment`, default 32), then the data section; each
///    tensor's offset is a multiple of the alignment (padded with zero bytes).
public enum GGUF {
    /// `"GGUF"` read as a little-endian `u32`.
    public static let magic: UInt32 = 0x4655_4747
    /// The version this module writes (and the only one it reads).
    public static let version: UInt32 = 3
    /// The alignment used when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// The most elements a tensor may have (2⁴⁸, far beyond any model, far below Int's range).
    public static let maxElements = 1 << 48
}

/// One tensor's description in a GGUF file.
public struct GGUFTensorInfo: Sendable, Hashable {
    /// The tensor's name (at most 64 bytes in llama.cpp).
    public var name: String
    /// Extents, contiguous dimension first (ggml order).
    public var dimensions: [Int]
    /// Element type.
    public var type: GGMLType
    /// Byte offset of the data from the start of the data section.
    public var offset: Int

    /// Makes a tensor description.
    public init(name: String, dimensions: [Int], type: GGMLType, offset: Int) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
    }

    /// Number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// Bytes of data, if the type is known.
    public var byteCount: Int? { type.byteCount(elements: elementCount) }
}

/// Little-endian serialisation into a growing byte array.
struct ByteSink {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(string: String) {
        let utf8 = Array(string.utf8)
        append(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func append(value: GGUFValue) throws(GGUFError) {
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let v): append(string: v)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float64(let v): append(v.bitPattern)
        case .array(let elementType, let values):
            append(elementType.rawValue)
            append(UInt64(values.count))
            for element in values {
                guard element.type == elementType else {
                    throw GGUFError("an array of \(elementType) holds a \(element.type) element")
                }
                try append(value: element)
            }
        }
    }

    mutating func pad(to alignment: Int) {
        let rest = bytes.count % alignment
        if rest != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - rest)) }
    }
}

/// Little-endian parsing of a byte array, with bounds checks that throw.
struct ByteSource {
    let bytes: [UInt8]
    var position = 0

    mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws(GGUFError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw GGUFError("the file ends inside \(what()) at byte \(position); it is truncated or not GGUF")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        let slice = try take(T.bitWidth / 8, what())
        var value: T = 0
        for (i, byte) in slice.enumerated() { value |= T(truncatingIfNeeded: byte) << (8 * i) }
        return value
    }

    mutating func readCount(_ what: @autoclosure () -> String) throws(GGUFError) -> Int {
        let raw = try read(UInt64.self, what())
        guard raw <= UInt64(bytes.count - position) else {
            throw GGUFError("\(what()) claims \(raw) entries, more than the file can hold")
        }
        return Int(raw)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let length = try readCount(what())
        let slice = try take(length, what())
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw GGUFError("\(what()) is not valid UTF-8")
        }
        return string
    }

    mutating func readValue(_ type: GGUFValueType, _ what: String, depth: Int = 0) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, what))
        case .int8: return .int8(try read(Int8.self, what))
        case .uint16: return .uint16(try read(UInt16.self, what))
        case .int16: return .int16(try read(Int16.self, what))
        case .uint32: return .uint32(try read(UInt32.self, what))
        case .int32: return .int32(try read(Int32.self, what))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what)))
        case .bool:
            let byte = try read(UInt8.self, what)
            guard byte <= 1 else { throw GGUFError("\(what) is a bool with byte value \(byte)") }
            return .bool(byte == 1)
        case .string: return .string(try readString(what))
        case .uint64: return .uint64(try read(UInt64.self, what))
        case .int64: return .int64(try read(Int64.self, what))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what)))
        case .array:
            guard depth < 8 else { throw GGUFError("\(what) nests arrays more than 8 deep") }
            let elementType = try readType(what)
            let count = try readCount(what)
            var values: [GGUFValue] = []
            values.reserveCapacity(min(count, 1 << 20))
            for _ in 0..<count { values.append(try readValue(elementType, what, depth: depth + 1)) }
            return .array(elementType: elementType, values: values)
        }
    }

    mutating func readType(_ what: String) throws(GGUFError) -> GGUFValueType {
        let raw = try read(UInt32.self, what)
        guard let type = GGUFValueType(rawValue: raw) else {
            throw GGUFError("\(what) has unknown value type \(raw)")
        }
        return type
    }
}
