/// Scoring a response against a gold answer.
public enum Scoring {
    /// Whether the response's extracted answer equals the gold answer after normalisation.
    /// A response with no answer is wrong.
    public static func isCorrect(response: String, gold: String) -> Bool {
        guard let answer = AnswerExtractor.extract(from: response), let expected = AnswerExtractor.normalize(gold)
        else {
            return false
        }
        return answer == expected
    }

    /// Whether the response answers `problem` correctly.
    public static func isCorrect(response: String, problem: Problem) -> Bool {
        isCorrect(response: response, gold: problem.answer)
    }

    /// The fraction of responses that are correct, each paired with its gold answer; 0 when empty.
    public static func accuracy(_ pairs: some Sequence<(response: String, gold: String)>) -> Double {
        var total = 0
        var correct = 0
        for pair in pairs {
            total += 1
            if isCorrect(response: pair.response, gold: pair.gold) { correct += 1 }
        }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }
}
