import Foundation
import QuorumPipeline
import Testing

@Suite("Self-generated problems: the few-shot prompt and the filter")
struct SelfGeneratedTests {
    static let pool = (0..<10).map { "Question number \($0): how many apples are left?" }

    @Test func thePromptListsFourQuestionsAndEndsWhereTheModelWritesTheNext() {
        let prompt = SelfGeneratedProblems.prompt(examples: ["A b c?", "D e\nf?", "G h i?", "J k l?"])
        #expect(prompt == "Question: A b c?\nQuestion: D e f?\nQuestion: G h i?\nQuestion: J k l?\nQuestion:")
        let custom = SelfGeneratedProblems.prompt(examples: ["a", "b", "c", "d"], questionPrefix: "Q: ")
        #expect(custom == "Q: a\nQ: b\nQ: c\nQ: d\nQ:")
    }

    @Test func examplesAreFourDistinctPoolQuestionsChosenDeterministically() {
        var seen = Set<[String]>()
        for index in 0..<20 {
            let examples = SelfGeneratedProblems.examples(pool: Self.pool, seed: 1, round: 1, index: index)
            #expect(examples.count == 4)
            #expect(Set(examples).count == 4)
            #expect(examples.allSatisfy(Self.pool.contains))
            #expect(examples == SelfGeneratedProblems.examples(pool: Self.pool, seed: 1, round: 1, index: index))
            seen.insert(examples)
        }
        #expect(seen.count > 15, "candidates should get different examples")
        #expect(
            SelfGeneratedProblems.examples(pool: Self.pool, seed: 1, round: 2, index: 0)
                != SelfGeneratedProblems.examples(pool: Self.pool, seed: 1, round: 1, index: 0))
        // A pool of exactly four questions still works (all four, in some order).
        let small = Array(Self.pool.prefix(4))
        #expect(Set(SelfGeneratedProblems.examples(pool: small, seed: 9, round: 3, index: 7)) == Set(small))
    }

    @Test func theQuestionIsTheFirstGeneratedLine() {
        #expect(
            SelfGeneratedProblems.question(fromGenerated: " Tom has 3 pens. How many?\nAnswer:\n")
                == "Tom has 3 pens. How many?")
        #expect(SelfGeneratedProblems.question(fromGenerated: "no newline at all") == "no newline at all")
        #expect(SelfGeneratedProblems.question(fromGenerated: "\nlater") == "")
    }

    @Test func malformedOrCopiedCandidatesAreDroppedBeforeTheVote() {
        let examples = Array(Self.pool.prefix(4))
        func reason(_ text: String, earlier: Set<String> = []) -> String? {
            SelfGeneratedProblems.rejection(text, examples: examples, earlier: earlier)
        }
        #expect(reason("") == "empty")
        #expect(reason("How many apples?") == "shorter than 4 words")
        #expect(reason(String(repeating: "word ", count: 90)) == "longer than 400 characters")
        #expect(reason("Tom has 3 apples #### 3") == "contains an answer marker")
        #expect(reason(examples[2]) == "copies one of its examples")
        #expect(
            reason("Sam has 4 pens. How many now?", earlier: ["Sam has 4 pens. How many now?"])
                == "repeats an earlier candidate")
        #expect(reason("Sam has 4 pens and buys 2 more. How many pens?") == nil)
        #expect(reason("Sam has 4 pens and buys 2 more.") == "not a question (its examples all end with '?')")
        // Examples that are not all questions do not ask for a question mark.
        #expect(
            SelfGeneratedProblems.rejection(
                "Sam has 4 pens and buys 2 more.", examples: ["a b c d?", "e f g h", "i j k l?", "m n o p?"],
                earlier: []) == nil)
        // A pool question that is not among this candidate's examples is not a copy of them.
        #expect(reason(Self.pool[9]) == nil)
    }

    @Test func aCandidateIsKeptOnlyIfItsTopAnswerReachesTauTimesK() {
        func responses(_ answers: [String?]) -> [String] {
            answers.map { $0.map { "step\n#### \($0)" } ?? "no answer here" }
        }
        // k = 8, τ = 0.5: 4 votes are needed.
        let four = SelfGeneratedProblems.vote(
            responses: responses(["7", "7", "7", "7", "3", "2", nil, nil]), tau: 0.5)
        #expect(four.answer == "7" && four.votes == 4 && four.kept)
        let three = SelfGeneratedProblems.vote(
            responses: responses(["7", "7", "7", "3", "3", "2", nil, nil]), tau: 0.5)
        #expect(three.answer == "7" && three.votes == 3 && !three.kept)
        // τ = 0.7 of 8 is 5.6: 6 votes needed.
        #expect(
            !SelfGeneratedProblems.vote(
                responses: responses(Array(repeating: "1", count: 5) + ["2", "3", "4"]), tau: 0.7
            ).kept)
        #expect(
            SelfGeneratedProblems.vote(responses: responses(Array(repeating: "1", count: 6) + ["2", "3"]), tau: 0.7)
                .kept)
        // Nothing parsable: never kept. Answers are normalized before counting ("1,000" = "1000").
        #expect(!SelfGeneratedProblems.vote(responses: responses([nil, nil, nil, nil]), tau: 0.25).kept)
        let normalized = SelfGeneratedProblems.vote(responses: responses(["1,000", "1000", "1000.0", "5"]), tau: 0.75)
        #expect(normalized.answer == "1000" && normalized.votes == 3 && normalized.kept)
        // A tie picks the smaller answer string, whatever the order of the responses.
        let tie = SelfGeneratedProblems.vote(responses: responses(["9", "4", "9", "4"]), tau: 0.5)
        let tieReversed = SelfGeneratedProblems.vote(responses: responses(["4", "9", "4", "9"]), tau: 0.5)
        #expect(tie.answer == "4" && tieReversed.answer == "4" && tie.kept)
    }

    @Test func idsAreStableAndDistinct() {
        let a = SelfGeneratedProblems.problemID("Sam has 4 pens. How many?")
        #expect(a == SelfGeneratedProblems.problemID("Sam has 4 pens. How many?"))
        #expect(a != SelfGeneratedProblems.problemID("Sam has 5 pens. How many?"))
        #expect(a.hasPrefix("sg-") && a.count == 19)
    }

    @Test func specsAcceptSelfGeneratedSourcesWithASeed() throws {
        let spec = try PipelineSpec.parse(
            """
            name: sg
            model: { path: m }
            problems: [ { synthetic: { seed: 1, count: 8 } }, { self_generated: { count: 16, seed: 4 } } ]
            """)
        #expect(spec.problems[1].selfGenerated?.count == 16)
        #expect(spec.problems[1].selfGenerated?.seed == 4)
        #expect(throws: PipelineSpecError.self) {
            try PipelineSpec.parse(
                "name: sg\nmodel: { path: m }\nproblems: [ { self_generated: { count: 4, shots: 3 } } ]\n")
        }
    }
}
