import Foundation
import Testing

@testable import QuorumVoting

@Suite("Reading sampled responses from JSONL")
struct SamplesJSONLTests {
    @Test("groups rows by problem in order of appearance and fills in answers")
    func grouping() throws {
        let text = """
            {"problem_id": "b", "prompt": "Q2", "response": "x\\n#### 1,042", "gold": 1042}
            {"problem_id": 7, "prompt": "Q1", "response": "no final line", "extra": true}

            {"problem_id": "b", "prompt": "Q2", "response": "y", "answer": "042", "unknown": [1]}
            {"problem_id": "b", "prompt": "Q2", "response": "#### 3", "answer": null, "extra": false}
            {"problem_id": "7", "prompt": "Q1", "response": "z", "answer": 2.50, "gold": null}
            {"problem_id": "b", "prompt": "Q2", "response": "w", "answer": "forty", "gold": "1042.0"}
            """
        let problems = try SamplesJSONL.decode(Data(text.utf8))
        #expect(problems.map(\.problemID) == ["b", "7"])
        let b = problems[0]
        #expect(b.prompt == "Q2" && b.gold == "1042")
        #expect(b.responses.map(\.answer) == ["1042", "42", nil, "forty"])
        #expect(b.responses.allSatisfy { !$0.isExtra })
        let seven = problems[1]
        #expect(seven.gold == nil)
        #expect(seven.responses.map(\.answer) == [nil, "2.5"])
        #expect(seven.responses.map(\.isExtra) == [true, false])
    }

    @Test(
        "a malformed line is an error naming the line and what is wrong",
        arguments: [
            ("{\"problem_id\": \"a\", \"prompt\": \"q\", \"response\": \"r\"}\n{\"problem_id\": ", 2, "not valid JSON"),
            ("[1, 2]", 1, "not a JSON object"),
            ("\n\n{\"problem_id\": \"a\", \"prompt\": \"q\"}", 3, "missing \"response\""),
            ("{\"prompt\": \"q\", \"response\": \"r\"}", 1, "missing \"problem_id\""),
            ("{\"problem_id\": true, \"prompt\": \"q\", \"response\": \"r\"}", 1, "\"problem_id\" must be"),
            ("{\"problem_id\": \"\", \"prompt\": \"q\", \"response\": \"r\"}", 1, "\"problem_id\" is empty"),
            ("{\"problem_id\": \"a\", \"prompt\": 5, \"response\": \"r\"}", 1, "\"prompt\" must be a string"),
            ("{\"problem_id\": \"a\", \"prompt\": \"q\", \"response\": null}", 1, "\"response\" is null"),
            (
                "{\"problem_id\": \"a\", \"prompt\": \"q\", \"response\": \"r\", \"extra\": 1}", 1,
                "\"extra\" must be true"
            ),
            (
                "{\"problem_id\": \"a\", \"prompt\": \"q\", \"response\": \"r\", \"answer\": [4]}", 1,
                "\"answer\" must be"
            ),
            ("{\"problem_id\": \"a\", \"prompt\": \"q\", \"response\": \"r\", \"gold\": {}}", 1, "\"gold\" must be"),
            (
                "{\"problem_id\": \"a\", \"prompt\": \"q\", \"response\": \"r\"}\n"
                    + "{\"problem_id\": \"a\", \"prompt\": \"other\", \"response\": \"r\"}", 2, "different prompt"
            ),
            (
                "{\"problem_id\": \"a\", \"prompt\": \"q\", \"response\": \"r\", \"gold\": 4}\n"
                    + "{\"problem_id\": \"a\", \"prompt\": \"q\", \"response\": \"r\", \"gold\": \"5\"}", 2, "conflicts"
            ),
        ])
    func malformed(text: String, line: Int, what: String) throws {
        let error = try #require(throws: VotingError.self) { try SamplesJSONL.decode(Data(text.utf8)) }
        #expect(error.line == line)
        #expect(error.message.hasPrefix("line \(line): "))
        #expect(error.message.contains(what), "\(error.message)")
    }

    @Test("invalid UTF-8 is reported, not a crash")
    func invalidBytes() throws {
        let error = try #require(throws: VotingError.self) { try SamplesJSONL.decode(Data([0xFF, 0xFE, 0x7B])) }
        #expect(error.line == 1 && error.code == .malformedSample)
    }

    @Test("an empty input has no problems")
    func empty() throws {
        #expect(try SamplesJSONL.decode(Data()).isEmpty)
        #expect(try SamplesJSONL.decode(Data("\n \n".utf8)).isEmpty)
    }

    @Test("decoded problems vote like hand-built ones")
    func endToEnd() throws {
        let rows = (0..<8).map { index in
            "{\"problem_id\": \"q\", \"prompt\": \"P\", \"response\": \"step \(index)\\n#### \(index < 5 ? 12 : 13)\"}"
        }
        let problems = try SamplesJSONL.decode(Data(rows.joined(separator: "\n").utf8))
        let outcome = PairSelection(seed: 1).outcome(for: try #require(problems.first), round: 1)
        let pair = try #require(outcome.pair)
        #expect(pair.chosenAnswer == "12" && pair.rejectedAnswer == "13" && pair.weight == 2.0 / 8)
    }
}
