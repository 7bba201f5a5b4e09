public import Foundation
import QuorumTasks

/// One problem's sampled responses, ready for ``PairSelection/outcome(for:round:)``.
public struct ProblemSamples: Sendable, Hashable {
    /// The problem's id.
    public var problemID: String
    /// The prompt every response answers.
    public var prompt: String
    /// The canonical gold answer, when known.
    public var gold: String?
    /// The responses, ordinary and extra, in input order.
    public var responses: [SampledResponse]

    /// A problem's samples from their parts.
    public init(problemID: String, prompt: String, gold: String? = nil, responses: [SampledResponse]) {
        self.problemID = problemID
        self.prompt = prompt
        self.gold = gold
        self.responses = responses
    }
}

/// Reading sampled responses from JSON Lines, one response per line:
/// `{"problem_id", "prompt", "response", "answer"?, "gold"?, "extra"?}`.
///
/// - `problem_id`: a string or an integer. `prompt`, `response`: strings.
/// - `answer`: absent → extracted from `response` (`AnswerExtractor`); null → the response has no
///   answer; a string or number → canonicalised (``SampledResponse/canonicalAnswer(_:)``; an empty
///   string means no answer).
/// - `gold`: absent or null → unknown; a string or number → canonicalised. It may appear on any
///   of a problem's rows, but rows that give it must agree.
/// - `extra`: a boolean, default false — whether the row is an extra high-temperature sample.
/// - Other keys are ignored; blank lines are skipped. Every row of a problem must carry the same prompt.
public enum SamplesJSONL {
    /// The problems in JSONL text, grouped by problem id in order of first appearance.
    ///
    /// - Throws: ``VotingError`` naming the 1-based line: code `malformedSample` when a line is not a
    ///   JSON object or a field is missing or of the wrong type, `inconsistentProblem` when a row's
    ///   prompt or gold answer disagrees with an earlier row of the same problem.
    public static func decode(_ data: Data) throws(VotingError) -> [ProblemSamples] {
        var problems: [ProblemSamples] = []
        var indexByID: [String: Int] = [:]
        var goldLine: [String: Int] = [:]
        var firstLine: [String: Int] = [:]
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ [0x20, 0x09, 0x0D].contains($0) }) { continue }
            let row = try decodeRow(Data(line), lineNumber: lineNumber)
            let id = row.response.problemID
            guard let index = indexByID[id] else {
                indexByID[id] = problems.count
                firstLine[id] = lineNumber
                if row.gold != nil { goldLine[id] = lineNumber }
                problems.append(
                    ProblemSamples(
                        problemID: id, prompt: row.response.prompt, gold: row.gold, responses: [row.response]))
                continue
            }
            guard problems[index].prompt == row.response.prompt else {
                throw VotingError(
                    .inconsistentProblem, line: lineNumber,
                    "problem \"\(id)\" has a different prompt than on line \(firstLine[id] ?? 0); "
                        + "every row of a problem must carry the same prompt")
            }
            if let gold = row.gold {
                if let known = problems[index].gold, known != gold {
                    throw VotingError(
                        .inconsistentProblem, line: lineNumber,
                        "gold answer \"\(gold)\" of problem \"\(id)\" conflicts with \"\(known)\" on line "
                            + "\(goldLine[id] ?? 0)")
                }
                if problems[index].gold == nil {
                    problems[index].gold = gold
                    goldLine[id] = lineNumber
                }
            }
            problems[index].responses.append(row.response)
        }
        return problems
    }

    /// The problems as JSONL that ``decode(_:)`` reads back to equal values: one row per response,
    /// its answer as given (null when it has none), the gold answer on every row of a problem that
    /// has one, `"extra": true` on extra samples.
    public static func encode(_ problems: [ProblemSamples]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for problem in problems {
            for response in problem.responses {
                let row = EncodedRow(
                    problemID: problem.problemID, prompt: problem.prompt, response: response.response,
                    answer: response.answer, gold: problem.gold, extra: response.isExtra ? true : nil)
                data.append(try encoder.encode(row))
                data.append(0x0A)
            }
        }
        return data
    }

    /// One written row.
    private struct EncodedRow: Encodable {
        var problemID: String
        var prompt: String
        var response: String
        var answer: String?
        var gold: String?
        var extra: Bool?

        enum CodingKeys: String, CodingKey {
            case problemID = "problem_id", prompt, response, answer, gold, extra
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(problemID, forKey: .problemID)
            try c.encode(prompt, forKey: .prompt)
            try c.encode(response, forKey: .response)
            try c.encode(answer, forKey: .answer)  // null: the response has no answer
            try c.encodeIfPresent(gold, forKey: .gold)
            try c.encodeIfPresent(extra, forKey: .extra)
        }
    }

    /// One parsed row: the response and the row's gold answer.
    struct Row {
        /// The response, its answer extracted or canonicalised.
        var response: SampledResponse
        /// The canonical gold answer, if the row gives one.
        var gold: String?
    }

    /// The row on one line.
    static func decodeRow(_ data: Data, lineNumber: Int) throws(VotingError) -> Row {
        func failure(_ what: String) -> VotingError {
            VotingError(
                .malformedSample, line: lineNumber,
                "\(what); each line must be a JSON object {\"problem_id\", \"prompt\", \"response\", "
                    + "\"answer\"?, \"gold\"?, \"extra\"?}")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw failure("not valid JSON")
        }
        guard let fields = object as? [String: Any] else { throw failure("not a JSON object") }

        /// A field's text: `.none` when absent, `.some(nil)` when null.
        func scalar(_ key: String, numbers: Bool) throws(VotingError) -> String?? {
            guard let value = fields[key] else { return .none }
            if value is NSNull { return .some(nil) }
            if let text = value as? String { return .some(text) }
            if numbers, let number = value as? NSNumber, !isBoolean(number) {
                return .some(numberText(number))
            }
            throw failure("\"\(key)\" must be a string\(numbers ? " or a number" : "")")
        }
        func required(_ key: String, numbers: Bool = false) throws(VotingError) -> String {
            switch try scalar(key, numbers: numbers) {
            case .none: throw failure("missing \"\(key)\"")
            case .some(nil): throw failure("\"\(key)\" is null")
            case .some(let text?): return text
            }
        }

        let problemID = try required("problem_id", numbers: true)
        guard !problemID.isEmpty else { throw failure("\"problem_id\" is empty") }
        let prompt = try required("prompt")
        let responseText = try required("response")
        let answer: String? =
            switch try scalar("answer", numbers: true) {
            case .none: AnswerExtractor.extract(from: responseText)
            case .some(nil): nil
            case .some(let text?): SampledResponse.canonicalAnswer(text)
            }
        let gold = try scalar("gold", numbers: true).flatMap { $0 }.flatMap(SampledResponse.canonicalAnswer)
        var isExtra = false
        if let value = fields["extra"], !(value is NSNull) {
            guard let number = value as? NSNumber, isBoolean(number) else {
                throw failure("\"extra\" must be true or false")
            }
            isExtra = number.boolValue
        }
        return Row(
            response: SampledResponse(
                problemID: problemID, prompt: prompt, response: responseText, answer: answer, isExtra: isExtra),
            gold: gold)
    }

    /// Whether a number from `JSONSerialization` was a JSON `true`/`false`.
    static func isBoolean(_ number: NSNumber) -> Bool {
        // Foundation hands JSON booleans over as numbers of Objective-C type "c" (char), a type no
        // JSON number gets, so 0 and 1 are not mistaken for false and true.
        number.objCType.pointee == CChar(UInt8(ascii: "c"))
    }

    /// A JSON number as text: integers without a fraction, others in Swift's shortest form.
    static func numberText(_ number: NSNumber) -> String {
        let value = number.doubleValue
        if value == value.rounded(), abs(value) < 1e15 { return String(number.int64Value) }
        return "\(value)"
    }
}
