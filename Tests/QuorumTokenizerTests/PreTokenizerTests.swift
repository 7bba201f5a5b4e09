import Testing

@testable import QuorumTokenizer

@Suite("Hand-written GPT-2 / Llama-3 pre-tokenizer")
struct PreTokenizerTests {
    @Test(
        "splits like Llama-3's regex",
        arguments: [
            ("Hello world", ["Hello", " world"]),
            ("12345678", ["123", "456", "78"]),
            ("I'm HE'LL it'S", ["I", "'m", " HE", "'LL", " it", "'S"]),
            ("a  b", ["a", " ", " b"]),
            ("x\n\ny", ["x", "\n\n", "y"]),
            ("  \n  x", ["  \n", " ", " x"]),
            ("Hello,world!", ["Hello", ",world", "!"]),
            ("3 * 12 = 36.\n#### 36", ["3", " *", " ", "12", " =", " ", "36", ".\n", "####", " ", "36"]),
            ("end   ", ["end", "   "]),
            ("", []),
        ] as [(String, [String])])
    func llama3(text: String, expected: [String]) {
        #expect(PreTokenizer(pattern: .llama3).pieces(text) == expected)
    }

    @Test(
        "splits like GPT-2's regex",
        arguments: [
            ("Hello world", ["Hello", " world"]),
            ("12345678", ["12345678"]),
            ("HE'LL it's", ["HE", "'", "LL", " it", "'s"]),
            ("a  b", ["a", " ", " b"]),
            ("x\n\ny", ["x", "\n", "\n", "y"]),
        ] as [(String, [String])])
    func gpt2(text: String, expected: [String]) {
        #expect(PreTokenizer(pattern: .gpt2).pieces(text) == expected)
    }

    @Test("adds a prefix space only when the text lacks one")
    func prefixSpace() {
        let splitter = PreTokenizer(pattern: .gpt2, addPrefixSpace: true)
        #expect(splitter.pieces("hi there") == [" hi", " there"])
        #expect(splitter.pieces(" hi") == [" hi"])
    }

    @Test("agrees with Hugging Face's pre-tokenizers on every fixture string", arguments: PreTokenizer.Pattern.allCases)
    func matchesHuggingFace(pattern: PreTokenizer.Pattern) throws {
        let expected = try FixtureFiles.expected()
        let pieces = try #require(expected.pieces[pattern.rawValue])
        for (text, hfPieces) in zip(expected.strings, pieces) {
            let ours = PreTokenizer(pattern: pattern).pieces(text).map { ByteLevel.encode($0.utf8) }
            #expect(ours == hfPieces, "\(pattern) split of \(text.debugDescription)")
        }
    }
}
