import QuorumTokenizer
import QuorumTraining
import Testing

@Suite struct ResponseTextTests {
    @Test func aNULByteInAResponseBecomesAReplacementCharacter() throws {
        let tokenizer = try BPETokenizer.train(corpus: ["12 + 3 = 15", "#### 15"], vocabSize: 300, specialTokens: [])
        let nul = try #require(tokenizer.id(of: ByteLevel.encode([0])))
        let one = try #require(tokenizer.id(of: ByteLevel.encode(Array("1".utf8))))
        let text = PromptFormat.standard.responseText([Int(one), Int(nul), Int(one)], tokenizer: tokenizer)
        #expect(!text.unicodeScalars.contains("\u{0}"))
        #expect(text == "1\u{FFFD}1")
    }
}
