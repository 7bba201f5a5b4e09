internal import Foundation

/// A parsed and validated safetensors header: the tensor table and the free-form metadata.
///
/// File layout: an 8-byte little-endian header length N, N bytes of JSON (padded with spaces),
/// then the data section, in which each tensor occupies `dataOffsets`.
public struct SafeTensorsHeader: Sendable, Hashable {
    /// The tensors, in data order (ascending offsets).
    public var tensors: [TensorInfo]
    /// The `__metadata__` string map (empty when absent).
    public var metadata: [String: String]

    /// The largest header accepted, as the reference implementation does (100 MB).
    public static let maximumHeaderLength = 100_000_000

    /// Wraps an already-validated table. Use `parse` or `layout` to build one.
    init(tensors: [TensorInfo], metadata: [String: String]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> TensorInfo? {
        tensors.first { $0.name == name }
    }

    /// The size of the data section: the end of the last tensor.
    public var dataByteCount: Int { tensors.last?.dataOffsets.upperBound ?? 0 }

    /// Lays out tensors for writing: sorted by name (as Hugging Face does), packed back to back.
    public static func layout(
        _ tensors: [(name: String, dtype: DType, shape: [Int])], metadata: [String: String] = [:]
    ) throws -> SafeTensorsHeader {
        var seen = Set<String>()
        var infos: [TensorInfo] = []
        var offset = 0
        for tensor in tensors.sorted(by: { $0.name < $1.name }) {
            guard tensor.name != "__metadata__", !tensor.name.isEmpty else {
                throw SafeTensorsError(.invalidArgument, "tensor name \"\(tensor.name)\" is reserved or empty")
            }
            guard seen.insert(tensor.name).inserted else {
                throw SafeTensorsError(
                    .invalidArgument, "tensor \"\(tensor.name)\" is given twice; names must be unique")
            }
            guard let count = TensorInfo.elementCount(of: tensor.shape),
                case (let bytes, false) = count.multipliedReportingOverflow(by: tensor.dtype.byteSize),
                case (let end, false) = offset.addingReportingOverflow(bytes)
            else {
                throw SafeTensorsError(
                    .invalidArgument, "tensor \"\(tensor.name)\" has an impossible shape \(tensor.shape)")
            }
            infos.append(
                TensorInfo(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, dataOffsets: offset..<end))
            offset = end
        }
        return SafeTensorsHeader(tensors: infos, metadata: metadata)
    }

    /// The header as it goes on disk: 8-byte length, JSON, space padding to a multiple of 8.
    public func encoded() -> [UInt8] {
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.sorted { $0.key < $1.key }
                .map { "\(Self.quote($0.key)):\(Self.quote($0.value))" }
                .joined(separator: ",")
            json += "}"
            first = false
        }
        for tensor in tensors.sorted(by: { $0.name < $1.name }) {
            if !first { json += "," }
            first = false
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            json += "\(Self.quote(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
            json += "\"data_offsets\":[\(tensor.dataOffsets.lowerBound),\(tensor.dataOffsets.upperBound)]}"
        }
        json += "}"
        var body = Array(json.utf8)
        while body.count % 8 != 0 { body.append(UInt8(ascii: " ")) }
        var out = [UInt8]()
        out.reserveCapacity(8 + body.count)
        withUnsafeBytes(of: UInt64(body.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: body)
        return out
    }

    /// Parses and validates the JSON header of a file whose data section holds `dataByteCount` bytes.
    ///
    /// Checks: known dtypes; non-negative shapes; each tensor's byte count equals product(shape) · size;
    /// offsets in range; tensors contiguous, non-overlapping and covering the whole data section.
    public static func parse(json: [UInt8], dataByteCount: Int) throws -> SafeTensorsHeader {
        guard json.first == UInt8(ascii: "{") else {
            throw SafeTensorsError(.badHeader, "the header does not start with '{'; this is not a safetensors file")
        }
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(json))
        } catch let error as SafeTensorsError {
            throw error
        } catch {
            throw SafeTensorsError(
                .badHeader, "the header is not valid safetensors JSON (\(Self.explain(error))); the file is damaged")
        }
        var tensors: [TensorInfo] = []
        for (name, entry) in raw.entries {
            guard let dtype = DType(rawValue: entry.dtype) else {
                throw SafeTensorsError(
                    .unknownDType, "tensor \"\(name)\" has dtype \(entry.dtype), which this reader does not support")
            }
            guard entry.dataOffsets.count == 2, entry.dataOffsets[0] >= 0, entry.dataOffsets[0] <= entry.dataOffsets[1]
            else {
                throw SafeTensorsError(.badLayout, "tensor \"\(name)\" has invalid data_offsets \(entry.dataOffsets)")
            }
            guard let count = TensorInfo.elementCount(of: entry.shape),
                case (let bytes, false) = count.multipliedReportingOverflow(by: dtype.byteSize),
                bytes == entry.dataOffsets[1] - entry.dataOffsets[0]
            else {
                throw SafeTensorsError(
                    .badLayout,
                    "tensor \"\(name)\": shape \(entry.shape) of \(dtype.rawValue) does not match its "
                        + "\(entry.dataOffsets[1] - entry.dataOffsets[0]) data bytes")
            }
            tensors.append(
                TensorInfo(
                    name: name, dtype: dtype, shape: entry.shape,
                    dataOffsets: entry.dataOffsets[0]..<entry.dataOffsets[1]))
        }
        tensors.sort {
            ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound, $0.name) < (
                $1.dataOffsets.lowerBound, $1.dataOffsets.upperBound, $1.name
            )
        }
        var expected = 0
        for tensor in tensors {
            guard tensor.dataOffsets.lowerBound == expected else {
                let problem = tensor.dataOffsets.lowerBound < expected ? "overlaps the previous tensor" : "leaves a gap"
                throw SafeTensorsError(.badLayout, "tensor \"\(tensor.name)\" \(problem) at data offset \(expected)")
            }
            expected = tensor.dataOffsets.upperBound
        }
        guard expected == dataByteCount else {
            throw SafeTensorsError(
                expected > dataByteCount ? .truncated : .badLayout,
                "the tensors cover \(expected) data bytes but the file holds \(dataByteCount)"
                    + (expected > dataByteCount ? "; the file is truncated" : "; the file has trailing bytes"))
        }
        return SafeTensorsHeader(tensors: tensors, metadata: raw.metadata)
    }

    /// Reads the 8-byte length prefix and checks it against the file size; returns the JSON length.
    public static func headerLength(prefix: [UInt8], fileSize: Int) throws -> Int {
        guard prefix.count >= 8, fileSize >= 8 else {
            throw SafeTensorsError(.truncated, "the file is \(fileSize) bytes, too short for a safetensors header")
        }
        var length: UInt64 = 0
        for i in (0..<8).reversed() { length = length << 8 | UInt64(prefix[i]) }
        guard length >= 2, length <= UInt64(maximumHeaderLength), length <= UInt64(fileSize - 8) else {
            throw SafeTensorsError(
                .badHeaderLength,
                "the header claims \(length) bytes but the file has \(fileSize - 8) after the prefix; "
                    + "it is not a safetensors file or it is truncated")
        }
        return Int(length)
    }

    /// Parses a whole safetensors file held in memory; the data section starts at `8 + json length`.
    public static func parse(file bytes: [UInt8]) throws -> (header: SafeTensorsHeader, dataStart: Int) {
        let length = try headerLength(prefix: Array(bytes.prefix(8)), fileSize: bytes.count)
        let header = try parse(json: Array(bytes[8..<8 + length]), dataByteCount: bytes.count - 8 - length)
        return (header, 8 + length)
    }

    /// A one-line account of a JSON decoding failure.
    static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func at(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "" : " at " + context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context): return "malformed JSON" + at(context)
        case .keyNotFound(let key, let context): return "missing \"\(key.stringValue)\"" + at(context)
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "a value of the wrong type" + at(context)
        @unknown default: return "\(error)"
        }
    }

    /// JSON string literal for `text`.
    static func quote(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        // Encoding a String cannot fail.
        return String(decoding: try! encoder.encode(text), as: UTF8.self)
    }
}

/// The header JSON as decoded, before validation.
private struct RawHeader: Decodable {
    struct Entry: Decodable {
        var dtype: String
        var shape: [Int]
        var dataOffsets: [Int]
        enum CodingKeys: String, CodingKey {
            case dtype, shape
            case dataOffsets = "data_offsets"
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var entries: [(String, Entry)] = []
    var metadata: [String: String] = [:]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try container.decode(Entry.self, forKey: key)))
            }
        }
    }
}
