import Foundation
import Testing

@testable import QuorumTokenizer

@Suite("BPE training")
struct TrainingTests {
    @Test("learns merges in frequency order, ties to the smaller pair, on a hand-checked corpus")
    func handCheckedMerges() throws {
        // Pieces: "abab", " abab", " ab". Pair counts: (a,b) 5, (b,a) 2, (Ġ,a) 2 → merge a+b first.
        // Then (ab,ab) 2 and (Ġ,ab) 2 tie; Ġ (id 32) < ab (id 256) → merge Ġ+ab. Then no pair occurs twice.
        let tokenizer = try BPETokenizer.train(corpus: ["abab abab ab"], vocabSize: 300, specialTokens: ["<|eos|>"])
        #expect(tokenizer.merges.map { "\($0.left) \($0.right)" } == ["a b", "Ġ ab"])
        #expect(tokenizer.vocabSize == 256 + 2 + 1)
        #expect(tokenizer.id(of: "ab") == 256)
        #expect(tokenizer.id(of: "Ġab") == 257)
        #expect(tokenizer.eosID == 258)
        #expect(tokenizer.encode("abab ab<|eos|>") == [256, 256, 257, 258])
        #expect(tokenizer.encode("ba") == [98, 97])
    }

    @Test("weights pieces by their counts across texts")
    func countsAcrossTexts() throws {
        let corpus = Array(repeating: "low", count: 5) + Array(repeating: "newest", count: 6) + ["widest", "widest"]
        let tokenizer = try BPETokenizer.train(corpus: corpus, vocabSize: 260, specialTokens: [])
        // "es" and "st" occur 8 times each; "e s" has the smaller pair key (e=101 < s=115) → first.
        // Then "es t" (8) beats "lo" (5), then "ne" / "ew" / "we" … (6).
        #expect(tokenizer.merges.prefix(2).map { "\($0.left) \($0.right)" } == ["e s", "es t"])
        #expect(tokenizer.merges.count == 4)
    }

    @Test("stops at the requested size and puts special tokens last")
    func sizeAndSpecials() throws {
        let tokenizer = try BPETokenizer.train(corpus: FixtureFiles.corpus(), vocabSize: 300)
        #expect(tokenizer.vocabSize == 300)
        #expect(tokenizer.bosID == 297 && tokenizer.eosID == 298 && tokenizer.padID == 299)
        #expect(tokenizer.merges.count == 300 - 256 - 3)
    }

    @Test(
        "is deterministic: retraining the fixture corpus reproduces the committed tokenizer.json byte for byte",
        arguments: [
            (PreTokenizer.Pattern.llama3, "quorum-tokenizer.json"), (.llama3SingleDigits, "quorum-single-digits.json"),
        ])
    func deterministic(pattern: PreTokenizer.Pattern, file: String) throws {
        let tokenizer = try BPETokenizer.train(
            corpus: FixtureFiles.corpus(), vocabSize: 400, preTokenizer: PreTokenizer(pattern: pattern))
        #expect(tokenizer.tokenizerJSON() == (try FixtureFiles.data(file)))
    }

    @Test("single-digit splitting learns no multi-digit tokens")
    func singleDigits() throws {
        let tokenizer = try BPETokenizer(tokenizerJSON: FixtureFiles.data("quorum-single-digits.json"))
        let numberTokens = (0..<Int32(tokenizer.vocabSize)).compactMap(tokenizer.token(for:))
            .filter { $0.count > 1 && $0.allSatisfy(\.isNumber) }
        #expect(numberTokens.isEmpty)
        #expect(tokenizer.encode("1234").count == 4)
    }

    @Test("refuses a vocabulary too small for the bytes and specials")
    func tooSmall() {
        #expect(throws: TokenizerError.self) { try BPETokenizer.train(corpus: ["x"], vocabSize: 257) }
    }
}
