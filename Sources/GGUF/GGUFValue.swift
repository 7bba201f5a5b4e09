/// GGUF's metadata value types: the `u32` tag written before every metadata value (and before the
/// elements of an array), as the GGUF specification numbers them.
public enum GGUFValueType: UInt32, Sendable, Hashable, CaseIterable {
    /// Unsigned 8-bit integer.
    case uint8 = 0
    /// Signed 8-bit integer.
    case int8 = 1
    /// Unsigned 16-bit integer.
    case uint16 = 2
    /// Signed 16-bit integer.
    case int16 = 3
    /// Unsigned 32-bit integer.
    case uint32 = 4
    /// Signed 32-bit integer.
    case int32 = 5
    /// IEEE 754 binary32.
    case float32 = 6
    /// One byte, 0 or 1.
    case bool = 7
    /// UTF-8 bytes preceded by a `u64` length (no terminator).
    case string = 8
    /// An element type tag, a `u64` count, then the elements.
    case array = 9
    /// Unsigned 64-bit integer.
    case uint64 = 10
    /// Signed 64-bit integer.
    case int64 = 11
    /// IEEE 754 binary64.
    case float64 = 12
}

/// One metadata value. All integers are little-endian in the file.
public indirect enum GGUFValue: Sendable, Hashable {
    /// See ``GGUFValueType/uint8``.
    case uint8(UInt8)
    /// See ``GGUFValueType/int8``.
    case int8(Int8)
    /// See ``GGUFValueType/uint16``.
    case uint16(UInt16)
    /// See ``GGUFValueType/int16``.
    case int16(Int16)
    /// See ``GGUFValueType/uint32``.
    case uint32(UInt32)
    /// See ``GGUFValueType/int32``.
    case int32(Int32)
    /// See ``GGUFValueType/float32``.
    case float32(Float)
    /// See ``GGUFValueType/bool``.
    case bool(Bool)
    /// See ``GGUFValueType/string``.
    case string(String)
    /// A homogeneous array: every element must have type `elementType`.
    case array(elementType: GGUFValueType, values: [GGUFValue])
    /// See ``GGUFValueType/uint64``.
    case uint64(UInt64)
    /// See ``GGUFValueType/int64``.
    case int64(Int64)
    /// See ``GGUFValueType/float64``.
    case float64(Double)

    /// The value's type tag.
    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .array: .array
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        }
    }

    /// An array of strings.
    public static func strings(_ values: [String]) -> GGUFValue {
        .array(elementType: .string, values: values.map { .string($0) })
    }

    /// An array of signed 32-bit integers.
    public static func int32s(_ values: [Int32]) -> GGUFValue {
        .array(elementType: .int32, values: values.map { .int32($0) })
    }

    /// The value as a signed integer, for any integer type (nil for other types or out of range).
    public var integer: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// The value as a `Double`, for floating-point types.
    public var floatingPoint: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: nil
        }
    }

    /// The string, for `.string`.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The elements, for `.array`.
    public var elements: [GGUFValue]? {
        if case .array(_, let values) = self { return values }
        return nil
    }
}
