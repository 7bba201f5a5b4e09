public import Foundation

/// Preference pairs (or any of this module's records) as JSON Lines: one object per line, keys
/// sorted, so the same records always give the same bytes.
public enum PairsJSONL {
    /// The JSONL text of `records`, one per line, ending with a newline.
    public static func encode<Record: Encodable>(_ records: some Sequence<Record>) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        for record in records {
            out.append(try encoder.encode(record))
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// The pairs in JSONL text; blank lines are skipped.
    ///
    /// - Throws: ``VotingError`` with code `malformedSample`, naming the 1-based line and what is wrong.
    public static func decodePairs(_ data: Data) throws(VotingError) -> [PreferencePair] {
        let decoder = JSONDecoder()
        var pairs: [PreferencePair] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ [0x20, 0x09, 0x0D].contains($0) }) { continue }
            let pair: PreferencePair
            do { pair = try decoder.decode(PreferencePair.self, from: Data(line)) } catch {
                throw VotingError(.malformedSample, line: lineNumber, "not a preference pair: \(describe(error))")
            }
            if let problem = pair.inconsistency {
                throw VotingError(.malformedSample, line: lineNumber, "not a usable preference pair: \(problem)")
            }
            pairs.append(pair)
        }
        return pairs
    }

    /// A short account of a decoding error: which key, and what is wrong with it.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not valid JSON" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, _): return "missing \"\(key.stringValue)\""
        case .valueNotFound(_, let context): return "\"\(path(context))\" is null"
        case .typeMismatch(let type, let context):
            return context.codingPath.isEmpty ? "not a JSON object" : "\"\(path(context))\" is not a \(type)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\"\(path(context))\" has a bad value"
        @unknown default: return "not valid JSON"
        }
    }
}
