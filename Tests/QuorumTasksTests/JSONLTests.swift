import Foundation
import Testing

@testable import QuorumTasks

@Suite("JSONL import and export")
struct JSONLTests {
    @Test("export then import gives the same problems, with keys in order")
    func roundTrip() throws {
        let problems =
            try ProblemGenerator().generate(split: .test, count: 25, seed: 9) + [
                Problem(
                    id: "odd", question: "Quotes \" backslash \\ tab \t emoji 👋 slash /?", answer: "-3",
                    solution: "#### -3")
            ]
        let data = ProblemJSONL.encode(problems)
        #expect(try ProblemJSONL.decode(data) == problems)
        let firstLine = try #require(String(decoding: data, as: UTF8.self).split(separator: "\n").first)
        #expect(firstLine.hasPrefix("{\"id\":"))
        let keys = ["\"id\":", "\"question\":", "\"answer\":", "\"solution\":"].map {
            firstLine.range(of: $0)!.lowerBound
        }
        #expect(keys == keys.sorted())
    }

    @Test("accepts blank lines and integer answers")
    func lenient() throws {
        let text = "\n{\"id\":\"a\",\"question\":\"q?\",\"answer\":12,\"solution\":\"#### 12\"}\n\n"
        #expect(
            try ProblemJSONL.decode(Data(text.utf8)) == [
                Problem(id: "a", question: "q?", answer: "12", solution: "#### 12")
            ])
    }

    @Test("reads the answers 0 and 1 as numbers and refuses true/false", arguments: ["0", "1"])
    func zeroAndOneAreNumbers(_ answer: String) throws {
        let text = "{\"id\":\"a\",\"question\":\"q?\",\"answer\":\(answer),\"solution\":\"#### \(answer)\"}"
        #expect(try ProblemJSONL.decode(Data(text.utf8)).first?.answer == answer)
        let boolean = "{\"id\":\"a\",\"question\":\"q?\",\"answer\":true,\"solution\":\"s\"}"
        #expect(throws: (any Error).self) { try ProblemJSONL.decode(Data(boolean.utf8)) }
    }

    @Test(
        "names the malformed line",
        arguments: [
            ("{\"id\":\"a\",\"question\":\"q\",\"answer\":\"1\",\"solution\":\"s\"}\n{oops}", "line 2: not valid JSON"),
            ("[1, 2]", "line 1: not a JSON object"),
            ("{\"id\":\"a\",\"answer\":\"1\",\"solution\":\"s\"}", "line 1: missing \"question\""),
            ("{\"question\":\"  \"}", "line 1: \"question\" is empty"),
            ("\n\n{\"id\":1,\"question\":\"q\",\"answer\":\"1\",\"solution\":\"s\"}", "line 3: \"id\" is not a string"),
        ])
    func malformed(text: String, message: String) {
        #expect {
            try ProblemJSONL.decode(Data(text.utf8))
        } throws: { error in
            guard let error = error as? TaskError else { return false }
            return error.code == .malformedJSONL && error.message.hasPrefix(message)
        }
    }

    @Test("reads GSM8K rows: no id, the answer a whole solution ending in #### N, numbers canonical")
    func gsm8k() throws {
        let text = """
            {"question": "Omar packs 36 apples into bags of 4 and then buys 9 more bags. How many bags does he have?", "answer": "Omar fills 36/4 = <<36/4=9>>9 bags.\\nWith 9 more he has 9+9 = <<9+9=18>>18 bags.\\n#### 18"}
            {"question": "A shop sold 1,200 pens at $1 each. How many dollars?", "answer": "#### 1,200"}
            {"question": "What is the capital of France?", "answer": " Paris "}
            {"question": "How many legs does a spider have?"}
            """
        let problems = try ProblemJSONL.decode(Data(text.utf8))
        #expect(problems.map(\.answer) == ["18", "1200", "Paris", ""])
        #expect(problems[0].solution.hasSuffix("#### 18") && problems[0].solution.contains("<<36/4=9>>"))
        #expect(problems[3].solution.isEmpty)
        // Ids are derived from the question: stable, distinct, and the same when read again.
        #expect(problems.allSatisfy { $0.id.hasPrefix("q-") && $0.id.count == 18 })
        #expect(Set(problems.map(\.id)).count == 4)
        #expect(try ProblemJSONL.decode(Data(text.utf8)).map(\.id) == problems.map(\.id))
    }
}
