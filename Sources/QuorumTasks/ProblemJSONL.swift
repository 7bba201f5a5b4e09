public import Foundation

/// Reading and writing problems as JSON Lines: one `{"id","question","answer","solution"}` object
/// per line, the answer a string holding the integer.
public enum ProblemJSONL {
    /// The JSONL text of `problems`, keys in the order id, question, answer, solution, one problem
    /// per line, ending with a newline.
    public static func encode(_ problems: some Sequence<Problem>) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var out = Data()
        for problem in problems {
            let fields = [
                ("id", problem.id), ("question", problem.question), ("answer", problem.answer),
                ("solution", problem.solution),
            ]
            let body = fields.map { key, value in
                // Encoding a String cannot fail.
                "\"\(key)\":" + String(decoding: (try? encoder.encode(value)) ?? Data("\"\"".utf8), as: UTF8.self)
            }
            out.append(contentsOf: ("{" + body.joined(separator: ",") + "}\n").utf8)
        }
        return out
    }

    /// Writes `problems` to a JSONL file, replacing it.
    ///
    /// - Throws: the file system's error.
    public static func write(_ problems: some Sequence<Problem>, to url: URL) throws {
        try encode(problems).write(to: url, options: .atomic)
    }

    /// The problems in JSONL text. Blank lines are skipped; `answer` may be a string or an integer.
    ///
    /// - Throws: ``TaskError`` with code `malformedJSONL`, naming the line (1-based) and what is wrong.
    public static func decode(_ data: Data) throws -> [Problem] {
        var problems: [Problem] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            problems.append(try decodeLine(text, lineNumber: lineNumber))
        }
        return problems
    }

    /// Reads problems from a JSONL file.
    ///
    /// - Throws: ``TaskError`` for malformed lines, or the file system's error.
    public static func read(from url: URL) throws -> [Problem] {
        try decode(Data(contentsOf: url))
    }

    /// One problem from one line.
    private static func decodeLine(_ text: String, lineNumber: Int) throws -> Problem {
        func failure(_ what: String) -> TaskError {
            TaskError(
                .malformedJSONL,
                "line \(lineNumber): \(what); each line must be a JSON object "
                    + "{\"id\", \"question\", \"answer\", \"solution\"} with string values")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw failure("not valid JSON")
        }
        guard let fields = object as? [String: Any] else { throw failure("not a JSON object") }
        func string(_ key: String) throws -> String {
            guard let value = fields[key] else { throw failure("missing \"\(key)\"") }
            if let text = value as? String { return text }
            if key == "answer", let number = value as? NSNumber,
                // JSON booleans arrive as numbers of Objective-C type "c"; `is Bool` is also true for 0 and 1 on Linux.
                number.objCType.pointee != CChar(UInt8(ascii: "c")),
                number.doubleValue == number.doubleValue.rounded(), abs(number.doubleValue) < 1e15
            {
                return String(number.int64Value)
            }
            throw failure("\"\(key)\" is not a string")
        }
        return Problem(
            id: try string("id"), question: try string("question"), answer: try string("answer"),
            solution: try string("solution"))
    }
}
