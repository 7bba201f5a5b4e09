import QuorumCore
/// The train / dev / test partition. A problem's split is a function of its normalized question
/// text alone, so no question can ever land in two splits, whatever seed generated it.
public enum DataSplit: String, Sendable, Hashable, CaseIterable, Codable {
    /// 80 % of the question space.
    case train
    /// 10 %: model selection.
    case dev
    /// 10 %: final evaluation.
    case test

    /// The split a question belongs to: FNV-1a of the normalized text, modulo 100
    /// (0–79 train, 80–89 dev, 90–99 test).
    public static func of(question: String) -> DataSplit { of(hash: questionHash(question)) }

    /// The split of a question with this ``questionHash(_:)``.
    static func of(hash: UInt64) -> DataSplit {
        switch hash % 100 {
        case 0..<80: .train
        case 80..<90: .dev
        default: .test
        }
    }

    /// The id a question gets: its split and 16 hex digits of its hash, e.g. `test-3fa2…`.
    public static func id(for question: String) -> String { id(hash: questionHash(question)) }

    /// The id of a question with this ``questionHash(_:)``.
    static func id(hash: UInt64) -> String {
        let hex = String(hash, radix: 16)
        return "\(of(hash: hash).rawValue)-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The text that identifies a question: lowercased, whitespace runs collapsed to one space, trimmed.
    public static func normalize(_ question: String) -> String {
        guard question.utf8.allSatisfy({ $0 < 0x80 }) else {
            return question.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        // ASCII fast path, same result: lowercase letters, collapse whitespace runs, trim.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(question.utf8.count)
        var pendingSpace = false
        for byte in question.utf8 {
            if byte == 0x20 || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte) {
                pendingSpace = !bytes.isEmpty
                continue
            }
            if pendingSpace { bytes.append(0x20) }
            pendingSpace = false
            bytes.append((0x41...0x5A).contains(byte) ? byte + 0x20 : byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// 64-bit FNV-1a of the normalized question's UTF-8 bytes (stable across runs and platforms,
    /// unlike `Hasher`).
    public static func questionHash(_ question: String) -> UInt64 {
        FNV1a.hash(normalize(question))
    }
}
