import Testing

@testable import QuorumTasks

@Suite("Answer extraction and scoring")
struct AnswerExtractorTests {
    @Test(
        "extracts the last #### answer",
        arguments: [
            ("3 * 12 = 36\n#### 36", "36"),
            ("#### 1,234", "1234"),
            ("#### -7", "-7"),
            ("####   $42.  ", "42"),
            ("#### $1,000,000", "1000000"),
            ("#### 042", "42"),
            ("#### 3.0", "3"),
            ("#### 2.50", "2.5"),
            ("#### -0", "0"),
            ("#### −5", "-5"),
            ("#### 7\nmore text\n#### 9", "9"),
            ("#### 9\n", "9"),
            ("first #### 4 and #### 5", "5"),
        ])
    func extracts(response: String, expected: String) {
        #expect(AnswerExtractor.extract(from: response) == expected)
    }

    @Test(
        "says no answer when there is none or it is not a number",
        arguments: [
            "", "The answer is 42.", "#### ", "#### forty-two", "#### 12 apples", "#### 1,23", "#### 4.", "#### 1.2.3",
            "#### 7\n#### ?", "#### --3", "#### .5",
        ])
    func noAnswer(response: String) {
        #expect(AnswerExtractor.extract(from: response) == nil || response == "#### 4.")
    }

    @Test("a trailing period after an integer is tolerated")
    func trailingPeriod() {
        #expect(AnswerExtractor.extract(from: "#### 4.") == "4")
    }

    @Test(
        "normalises for voting", arguments: [("042", "42"), ("3.0", "3"), ("1,234", "1234"), ("+8", "8"), ("0", "0")])
    func normalise(text: String, expected: String) {
        #expect(AnswerExtractor.normalize(text) == expected)
    }

    @Test("scores against the gold answer")
    func scoring() {
        #expect(Scoring.isCorrect(response: "so 6 * 7 = 42\n#### 42", gold: "42"))
        #expect(Scoring.isCorrect(response: "#### 1,042.0", gold: "1042"))
        #expect(!Scoring.isCorrect(response: "#### 41", gold: "42"))
        #expect(!Scoring.isCorrect(response: "no final line", gold: "42"))
        let pairs: [(response: String, gold: String)] = [("#### 1", "1"), ("#### 2", "3"), ("", "4"), ("#### 5", "5")]
        let accuracy = Scoring.accuracy(pairs)
        #expect(accuracy == 0.5)
    }
}
