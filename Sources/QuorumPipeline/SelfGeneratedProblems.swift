import Foundation
import QuorumDigest
import QuorumTasks
import QuorumVoting
import QuorumCore

/// Self-generated problems (spec `self_generated: { count, seed }`), as in the SCPO paper: the
/// current model M_{r−1} writes new questions, and only those its own k-sample vote is confident
/// about are kept for round r.
///
/// **The prompt.** For candidate `i`, four training questions are drawn (deterministically from
/// `seed`, the round and `i`, all different) from the pipeline's other problem sources, and the model
/// continues
///
///     Question: <training question 1>
///     Question: <training question 2>
///     Question: <training question 3>
///     Question: <training question 4>
///     Question:
///
/// (the prefix is the checkpoint's prompt format's question prefix, without its trailing space, so
/// the model writes the space); its new question is the generated text up to the first newline
/// (at most 96 tokens). A prompt longer than the model's context minus 96 tokens keeps its end.
///
/// **The filter.** A candidate is dropped if it is empty, shorter than 4 words or longer than 400
/// characters, contains an answer marker (`####`), does not end with `?` although all four examples
/// do, or repeats one of its four examples or an earlier candidate. Then M_{r−1} samples k answers to it (the round's k, temperature and top-p); it is kept
/// only if its most-voted answer has at least ⌈τ·k⌉ votes (τ of round r, the same threshold the
/// pair rule uses). That voted answer is not stored as a label: a self-generated problem has no
/// gold answer, and the round's workers vote on it again like on every other problem.
public enum SelfGeneratedProblems {
    /// Examples per prompt.
    public static let shots = 4

    /// The few-shot prompt text for one candidate.
    public static func prompt(examples: [String], questionPrefix: String = "Question: ") -> String {
        let prefix = questionPrefix.hasSuffix(" ") ? String(questionPrefix.dropLast()) : questionPrefix
        return examples.map { questionPrefix + oneLine($0) + "\n" }.joined() + prefix
    }

    /// The `shots` distinct example questions of candidate `index` in `round`, drawn from `pool`.
    public static func examples(pool: [String], seed: UInt64, round: Int, index: Int) -> [String] {
        precondition(pool.count >= shots, "the example pool needs at least \(shots) questions")
        var random = SplitMix64(
            seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(round) &* 0x1_0000_0001 &+ UInt64(index))
        var chosen: [Int] = []
        while chosen.count < shots {
            let pick = Int(random.next() % UInt64(pool.count))
            if !chosen.contains(pick) { chosen.append(pick) }
        }
        return chosen.map { pool[$0] }
    }

    /// Why a candidate was dropped before its vote (nil: it goes on to the vote).
    public static func rejection(_ candidate: String, examples: [String], earlier: Set<String>) -> String? {
        let words = candidate.split(whereSeparator: \.isWhitespace)
        if candidate.isEmpty { return "empty" }
        if words.count < 4 { return "shorter than 4 words" }
        if candidate.count > 400 { return "longer than 400 characters" }
        if candidate.contains("####") { return "contains an answer marker" }
        if examples.allSatisfy({ oneLine($0).hasSuffix("?") }) && !candidate.hasSuffix("?") {
            return "not a question (its examples all end with '?')"
        }
        if examples.map(oneLine).contains(candidate) { return "copies one of its examples" }
        if earlier.contains(candidate) { return "repeats an earlier candidate" }
        return nil
    }

    /// The question a generation holds: its text up to the first newline, trimmed.
    public static func question(fromGenerated text: String) -> String {
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return line.trimmingCharacters(in: .whitespaces)
    }

    /// The vote filter: the most-voted parsable answer among `responses` and whether its votes reach
    /// ⌈τ·k⌉ (k = `responses.count`). Unparsable responses count towards k but vote for nothing.
    public static func vote(responses: [String], tau: Double) -> (answer: String?, votes: Int, kept: Bool) {
        var counts: [String: Int] = [:]
        for response in responses {
            if let answer = AnswerExtractor.extract(from: response) { counts[answer, default: 0] += 1 }
        }
        // Ties go to the smaller answer string, so the outcome does not depend on dictionary order.
        let top = counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }
        let needed = PairSelection(tau: tau).minimumVotes(k: responses.count)
        guard let top else { return (nil, 0, false) }
        return (top.key, top.value, top.value >= max(needed, 1))
    }

    /// A stable id for a kept question: `sg-` and the first 16 hex digits of its SHA-256.
    public static func problemID(_ question: String) -> String {
        "sg-" + SHA256.hexDigest(question).prefix(16)
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }
}
