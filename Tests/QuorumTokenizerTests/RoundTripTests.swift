import Testing

@testable import QuorumTokenizer

/// Texts that stress byte-level BPE: multi-byte scalars, joiners, combining marks, controls…
let adversarialTexts: [String] = [
    "", " ", "\n", "\r\n", "\0", "a\u{0}b\u{7F}c",
    "👨‍👩‍👧‍👦🏳️‍🌈🇯🇵👋🏽", "日本語のテキスト、中文字符。한국어", "e\u{301}\u{302}\u{303} a\u{308}",
    "مرحبا بالعالم ‏עברית‎", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{10FFFF} \u{FFFD} \u{FEFF}", "x²+y³=z⁴ ½ Ⅻ ٣٤٥ 1234567890123",
    "\u{3000}\u{A0}\u{2028}\u{85}\t\u{B}\u{C}", "<|eos|><|bos|>text<|pad", "<|eos|\u{301}>",
    "Tom has 3 boxes of 12 apples, so 3 * 12 = 36 apples.\n#### 36", String(repeating: "ab ", count: 200),
    String(repeating: "9", count: 100), "'s'S'll'LL'ſ", "   leading and trailing   ",
]

@Suite("Encode/decode round trips")
struct RoundTripTests {
    /// A small tokenizer trained on the fixture corpus (multi-byte merges included).
    static let tokenizer: BPETokenizer = {
        // The fixture corpus ships with the tests; failing to read it is a broken checkout.
        try! BPETokenizer.train(corpus: FixtureFiles.corpus(), vocabSize: 500)
    }()

    @Test("decode(encode(text)) == text, bytes included", arguments: adversarialTexts)
    func roundTrip(text: String) {
        for parse in [true, false] {
            let ids = Self.tokenizer.encode(text, parseSpecialTokens: parse)
            let decoded = Self.tokenizer.decode(ids)
            #expect(Array(decoded.utf8) == Array(text.utf8), "\(text.debugDescription), parse \(parse)")
            #expect(ids.allSatisfy { $0 >= 0 && Int($0) < Self.tokenizer.vocabSize })
        }
    }

    @Test("added tokens become single ids only when parsing is on")
    func addedTokens() throws {
        let tokenizer = Self.tokenizer
        let eos = try #require(tokenizer.eosID)
        #expect(tokenizer.encode("hi<|eos|>") == tokenizer.encode("hi") + [eos])
        #expect(!tokenizer.encode("hi<|eos|>", parseSpecialTokens: false).contains(eos))
        #expect(tokenizer.decode(tokenizer.encode("hi<|eos|>"), skipSpecialTokens: true) == "hi")
    }

    @Test("ids cut mid-character decode to U+FFFD, like Hugging Face")
    func partialCharacter() throws {
        let tokenizer = Self.tokenizer
        let ids = tokenizer.encode("€")  // three bytes
        #expect(tokenizer.decode(ids) == "€")
        #expect(tokenizer.decode(ids.dropLast()).unicodeScalars.allSatisfy { $0 == "\u{FFFD}" })
    }

    @Test("merges shorten text: trained tokens beat raw bytes on the corpus")
    func compresses() throws {
        let text = try FixtureFiles.corpus().prefix(100).joined(separator: "\n")
        #expect(Self.tokenizer.encode(text).count * 2 < text.utf8.count)
    }

    @Test("concurrent encoding through the shared cache gives the same ids as serial encoding")
    func concurrentEncoding() async throws {
        let texts = try Array(FixtureFiles.corpus().prefix(200))
        let tokenizer = try BPETokenizer.train(corpus: texts, vocabSize: 400)
        let serial = texts.map { tokenizer.encode($0) }
        let parallel = await withTaskGroup(of: (Int, [Int32]).self) { group in
            for (index, text) in texts.enumerated() { group.addTask { (index, tokenizer.encode(text)) } }
            var results = [[Int32]](repeating: [], count: texts.count)
            for await (index, ids) in group { results[index] = ids }
            return results
        }
        #expect(parallel == serial)
    }
}
