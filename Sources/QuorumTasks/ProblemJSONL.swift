public import Foundation

/// Reading and writing problems as JSON Lines: Quorum writes one `{"id","question","answer","solution"}`
/// object per line, and reads those as well as GSM8K's `{"question","answer": "… #### N"}` rows.
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

    /// One problem from one line. Only `question` is required:
    /// - `id` defaults to `q-` and the question's stable hash (the same on every machine);
    /// - `answer` may be GSM8K's whole solution ending in `#### N` (then it is also the solution), a
    ///   bare answer, or a JSON integer; numbers are canonicalised (`1,200` → `1200`, `$5.00` → `5`),
    ///   other text is trimmed; absent, the problem is unlabeled (answer "");
    /// - `solution` defaults to the GSM8K answer text, or "".
    private static func decodeLine(_ text: String, lineNumber: Int) throws -> Problem {
        func failure(_ what: String) -> TaskError {
            TaskError(
                .malformedJSONL,
                "line \(lineNumber): \(what); each line must be a JSON object with a \"question\" string and "
                    + "optionally \"id\", \"answer\" (GSM8K's \"… #### N\" or a bare answer) and \"solution\"")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        } catch {
            throw failure("not valid JSON")
        }
        guard let fields = object as? [String: Any] else { throw failure("not a JSON object") }
        func string(_ key: String) throws -> String? {
            guard let value = fields[key], !(value is NSNull) else { return nil }
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
        guard let question = try string("question") else { throw failure("missing \"question\"") }
        guard !question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw failure("\"question\" is empty")
        }
        let given = try string("answer") ?? ""
        var solution = try string("solution")
        var answer = given
        if let marker = given.range(of: "####", options: .backwards) {
            answer = String(given[marker.upperBound...])
            solution = solution ?? given
        }
        answer = AnswerExtractor.normalize(answer) ?? answer.trimmingCharacters(in: .whitespacesAndNewlines)
        return Problem(
            id: try string("id") ?? "q-" + String(format: "%016llx", DataSplit.questionHash(question)),
            question: question, answer: answer, solution: solution ?? "")
    }
}
