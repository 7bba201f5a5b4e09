/// One arithmetic word problem with its worked solution.
public struct Problem: Sendable, Hashable, Codable {
    /// A stable id, derived from the question's text (see ``DataSplit/id(for:split:)``).
    public var id: String
    /// The question in English.
    public var question: String
    /// The gold answer: an integer written in decimal, e.g. `"42"`.
    public var answer: String
    /// The chain of thought, one line per step, ending with the line `#### <answer>`.
    public var solution: String

    /// A problem from its fields.
    public init(id: String, question: String, answer: String, solution: String) {
        self.id = id
        self.question = question
        self.answer = answer
        self.solution = solution
    }
}
