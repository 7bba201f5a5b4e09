import Foundation
import QuorumTasks

/// One sampled response to one problem, with its extracted final answer.
///
/// SCPO (Prasad et al. 2024, §1 step 2 of docs/papers.md) votes with the final answer ans(y) of each of
/// the k responses; a response whose answer cannot be parsed casts no vote.
public struct SampledResponse: Sendable, Hashable, Codable {
    /// The id of the problem this response answers.
    public var problemID: String
    /// The prompt the model was given (the same for every response of a problem).
    public var prompt: String
    /// The model's response: a chain of thought ending with a final answer line.
    public var response: String
    /// The canonical final answer (see ``canonicalAnswer(_:)``), or nil when none could be parsed.
    public var answer: String?
    /// Whether this is one of the optional extra high-temperature samples drawn to find rejected
    /// answers (the paper draws 8 at temperature 1.2 in later rounds), rather than one of the k.
    public var isExtra: Bool

    /// A response whose answer is already known. `answer` is stored as given: pass a value from
    /// ``canonicalAnswer(_:)`` so equal answers compare equal.
    public init(problemID: String, prompt: String, response: String, answer: String?, isExtra: Bool = false) {
        self.problemID = problemID
        self.prompt = prompt
        self.response = response
        self.answer = answer
        self.isExtra = isExtra
    }

    /// A response whose answer is extracted from its text with `AnswerExtractor.extract(from:)`
    /// (the last `#### <number>` line, normalised).
    public init(problemID: String, prompt: String, extractingFrom response: String, isExtra: Bool = false) {
        self.init(
            problemID: problemID, prompt: prompt, response: response,
            answer: AnswerExtractor.extract(from: response), isExtra: isExtra)
    }

    /// The form in which an answer given from outside (a gold label, an answer a sampler already
    /// extracted) takes part in votes: the normalised number when `text` is a number (`"042"` →
    /// `"42"`, as `AnswerExtractor.normalize(_:)` does), otherwise the text with surrounding white
    /// space removed, so non-numeric tasks still vote by exact text. Nil when that leaves nothing.
    public static func canonicalAnswer(_ text: String) -> String? {
        if let number = AnswerExtractor.normalize(text) { return number }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// JSON keys in snake case.
    enum CodingKeys: String, CodingKey {
        case problemID = "problem_id"
        case prompt, response, answer
        case isExtra = "extra"
    }

    /// Decodes a response; a missing `answer` means none was parsed, a missing `extra` means false.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        problemID = try container.decode(String.self, forKey: .problemID)
        prompt = try container.decode(String.self, forKey: .prompt)
        response = try container.decode(String.self, forKey: .response)
        answer = try container.decodeIfPresent(String.self, forKey: .answer)
        isExtra = try container.decodeIfPresent(Bool.self, forKey: .isExtra) ?? false
    }

    /// Encodes every key, `answer` as null when there is none.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(problemID, forKey: .problemID)
        try container.encode(prompt, forKey: .prompt)
        try container.encode(response, forKey: .response)
        try container.encode(answer, forKey: .answer)
        try container.encode(isExtra, forKey: .isExtra)
    }
}
