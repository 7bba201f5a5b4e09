import Foundation
import QuorumCore
public import QuorumTasks
public import QuorumTokenizer

/// How a problem becomes model input and how model output becomes an answer — the one format that
/// supervised training, evaluation, SCPO's sampler and its preference pairs all share.
///
/// A training sequence is
///
///     <|bos|>Question: {question}\nAnswer:\n        ← the prompt x (never scored)
///     {solution line 1}\n … #### {N}<|eos|>         ← the response y (scored)
///
/// The prompt and the response are tokenized separately and concatenated, so the prompt's tokens are
/// exactly the ones generation starts from, and SCPO's log M(y|x) covers the response tokens only
/// (EOS included: stopping is part of the answer). Generation stops at `<|eos|>` or, failing that,
/// once a line that starts with `####` has been finished by a newline (see ``isFinished(_:tokenizer:)``).
public struct PromptFormat: Sendable, Hashable, Codable {
    /// Text before the question.
    public var questionPrefix: String
    /// Text between the question and the solution; the prompt ends with it.
    public var answerPrefix: String

    /// The format described above: `"Question: "` before the question, `"\nAnswer:\n"` after it.
    public init(questionPrefix: String = "Question: ", answerPrefix: String = "\nAnswer:\n") {
        self.questionPrefix = questionPrefix
        self.answerPrefix = answerPrefix
    }

    enum CodingKeys: String, CodingKey {
        case questionPrefix = "question_prefix", answerPrefix = "answer_prefix"
    }

    /// The standard format.
    public static let standard = PromptFormat()

    /// The prompt's text, without BOS.
    public func promptText(question: String) -> String {
        questionPrefix + question + answerPrefix
    }

    /// The prompt's tokens: BOS (when the tokenizer has one), then the prompt text.
    public func promptTokens(question: String, tokenizer: BPETokenizer) -> [Int] {
        var tokens: [Int] = tokenizer.bosID.map { [Int($0)] } ?? []
        tokens += tokenizer.encode(promptText(question: question), parseSpecialTokens: false).map(Int.init)
        return tokens
    }

    /// The prompts and random streams of `k` samples of each problem, problem by problem: sample j of
    /// a problem is its prompt with stream ``SampleStreams/stream(problemID:sample:)``, the rule every
    /// sampler follows (workers, evaluation, `quorum task sample`).
    public func samplePrompts(
        _ problems: [(id: String, question: String)], k: Int, tokenizer: BPETokenizer
    ) -> (prompts: [[Int]], streams: [UInt64]) {
        var prompts: [[Int]] = []
        var streams: [UInt64] = []
        for problem in problems {
            let prompt = promptTokens(question: problem.question, tokenizer: tokenizer)
            for sample in 0..<k {
                prompts.append(prompt)
                streams.append(SampleStreams.stream(problemID: problem.id, sample: sample))
            }
        }
        return (prompts, streams)
    }

    /// The response's tokens: the solution text, then EOS (when the tokenizer has one).
    public func responseTokens(solution: String, tokenizer: BPETokenizer) -> [Int] {
        var tokens = tokenizer.encode(solution, parseSpecialTokens: false).map(Int.init)
        if let eos = tokenizer.eosID { tokens.append(Int(eos)) }
        return tokens
    }

    /// A labeled problem as (prompt, response) token ids.
    public func example(for problem: Problem, tokenizer: BPETokenizer) -> (prompt: [Int], response: [Int]) {
        (
            promptTokens(question: problem.question, tokenizer: tokenizer),
            responseTokens(solution: problem.solution, tokenizer: tokenizer)
        )
    }

    /// The text of generated tokens, without special tokens (EOS).
    /// A NUL byte (which a byte-level model can emit) becomes U+FFFD: neither PostgreSQL's `text` nor
    /// `jsonb` can store U+0000.
    public func responseText(_ tokens: [Int], tokenizer: BPETokenizer) -> String {
        let text = tokenizer.decode(tokens.map { Int32(truncatingIfNeeded: $0) }, skipSpecialTokens: true)
        return text.unicodeScalars.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    /// The normalised final answer of generated tokens (``AnswerExtractor``), or nil when there is none.
    public func answer(of tokens: [Int], tokenizer: BPETokenizer) -> String? {
        AnswerExtractor.extract(from: responseText(tokens, tokenizer: tokenizer))
    }

    /// The stop rule for generation besides EOS: true once the text holds a complete line (ended by
    /// a newline) that starts with `####`. Only looks at the whole text when the newest token holds
    /// a newline, so the check is cheap per token.
    public func isFinished(_ tokens: [Int], tokenizer: BPETokenizer) -> Bool {
        guard let last = tokens.last,
            tokenizer.decode([Int32(truncatingIfNeeded: last)]).contains(where: \.isNewline)
        else { return false }
        let text = responseText(tokens, tokenizer: tokenizer)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        // The last element is the unfinished line after the final newline.
        return lines.dropLast().contains { $0.drop(while: \.isWhitespace).hasPrefix("####") }
    }
}
