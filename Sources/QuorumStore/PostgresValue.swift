/// A parameter value on its way to PostgreSQL: text in the server's input syntax, raw bytes for
/// `bytea`, or NULL.
public enum PostgresValue: Sendable, Hashable {
    /// A value in PostgreSQL's text input syntax, with the type OID to declare (0: let the server infer).
    case text(String, typeOID: UInt32)
    /// Raw bytes for a `bytea` parameter (sent in binary format).
    case bytes([UInt8])
    /// SQL NULL.
    case null
}

/// A Swift value that can be bound as a query parameter.
public protocol PostgresEncodable: Sendable {
    /// The value to send.
    var postgresValue: PostgresValue { get }
}

/// A Swift value that can be read from a result column (text format).
public protocol PostgresDecodable {
    /// Parses PostgreSQL's text output for the value. Throws when the text is not of this type.
    init(postgresText text: String) throws(PostgresError)
}

extension PostgresDecodable {
    static func mismatch(_ text: String) -> PostgresError {
        PostgresError(
            code: .invalidTextRepresentation,
            message: "cannot read \(String(reflecting: Self.self)) from \"\(text.prefix(60))\"")
    }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(self, typeOID: 0) }
    public init(postgresText text: String) { self = text }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(String(self), typeOID: 20) }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = Int(text) else { throw Self.mismatch(text) }
        self = value
    }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(String(self), typeOID: 20) }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = Int64(text) else { throw Self.mismatch(text) }
        self = value
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(String(self), typeOID: 23) }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = Int32(text) else { throw Self.mismatch(text) }
        self = value
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue {
        .text(isNaN ? "NaN" : isInfinite ? (self > 0 ? "Infinity" : "-Infinity") : "\(self)", typeOID: 701)
    }
    public init(postgresText text: String) throws(PostgresError) {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(text) else { throw Self.mismatch(text) }
            self = value
        }
    }
}

extension Float: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { Double(self).postgresValue }
    public init(postgresText text: String) throws(PostgresError) { self = Float(try Double(postgresText: text)) }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresValue: PostgresValue { .text(self ? "t" : "f", typeOID: 16) }
    public init(postgresText text: String) throws(PostgresError) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw Self.mismatch(text)
        }
    }
}

/// Bytes for a `bytea` column.
public struct PostgresBytes: PostgresEncodable, PostgresDecodable, Hashable {
    /// The bytes.
    public var bytes: [UInt8]

    /// Wraps bytes.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var postgresValue: PostgresValue { .bytes(bytes) }

    /// Parses bytea's hex output format (`\x0a1b…`).
    public init(postgresText text: String) throws(PostgresError) {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else {
            throw Self.mismatch(text)
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count / 2 - 1)
        var index = 2
        while index < utf8.count {
            guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else {
                throw Self.mismatch(text)
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.bytes = bytes
    }
}

/// A `jsonb` parameter: JSON text that the server parses and stores as jsonb.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Hashable {
    /// The JSON text.
    public var text: String

    /// Wraps JSON text.
    public init(_ text: String) { self.text = text }

    public var postgresValue: PostgresValue { .text(text, typeOID: 3802) }
    public init(postgresText text: String) { self.text = text }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresValue: PostgresValue { self?.postgresValue ?? .null }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
