import Foundation
import Testing

@testable import QuorumTokenizer

@Suite("tokenizer.json compatibility with Hugging Face tokenizers")
struct HuggingFaceCompatibilityTests {
    @Test(
        "our ids equal Hugging Face's for the same tokenizer.json",
        arguments: [
            "quorum-tokenizer.json", "quorum-single-digits.json", "hf-llama3.json", "hf-gpt2.json",
        ])
    func sameIDs(file: String) throws {
        let expected = try FixtureFiles.expected()
        let tokenizer = try BPETokenizer(tokenizerJSON: FixtureFiles.data(file))
        let ids = try #require(expected.ids[file])
        let decoded = try #require(expected.decoded[file])
        for (index, text) in expected.strings.enumerated() {
            #expect(tokenizer.encode(text) == ids[index], "\(file): \(text.debugDescription)")
            #expect(tokenizer.decode(ids[index]) == decoded[index], "\(file): decode of \(text.debugDescription)")
        }
    }

    @Test("reads Hugging Face's own files with the right pre-tokenizer and specials")
    func readsHuggingFaceFiles() throws {
        let llama3 = try BPETokenizer(tokenizerJSON: FixtureFiles.data("hf-llama3.json"))
        #expect(llama3.preTokenizer == PreTokenizer(pattern: .llama3))
        #expect(llama3.bosID == 0 && llama3.eosID == 1 && llama3.padID == 2)
        let gpt2 = try BPETokenizer(tokenizerJSON: FixtureFiles.data("hf-gpt2.json"))
        #expect(gpt2.preTokenizer == PreTokenizer(pattern: .gpt2, addPrefixSpace: true))
    }

    @Test(
        "save → load → save is the identity and keeps every id",
        arguments: [
            "quorum-tokenizer.json", "quorum-single-digits.json", "hf-llama3.json", "hf-gpt2.json",
        ])
    func saveLoad(file: String) throws {
        let original = try BPETokenizer(tokenizerJSON: FixtureFiles.data(file))
        let reloaded = try BPETokenizer(tokenizerJSON: original.tokenizerJSON())
        #expect(reloaded.tokenizerJSON() == original.tokenizerJSON())
        #expect(reloaded.vocabSize == original.vocabSize)
        for text in adversarialTexts { #expect(reloaded.encode(text) == original.encode(text)) }
    }

    @Test("reads merges written as pairs (tokenizers ≥ 0.20) as well as strings")
    func pairMerges() throws {
        var root = try #require(
            try JSONSerialization.jsonObject(with: FixtureFiles.data("quorum-tokenizer.json")) as? [String: Any])
        var model = try #require(root["model"] as? [String: Any])
        let merges = try #require(model["merges"] as? [String])
        model["merges"] = merges.map { $0.split(separator: " ").map(String.init) }
        root["model"] = model
        let tokenizer = try BPETokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: root))
        let original = try BPETokenizer(tokenizerJSON: FixtureFiles.data("quorum-tokenizer.json"))
        #expect(tokenizer.encode("Tom has 3 boxes") == original.encode("Tom has 3 boxes"))
    }

    @Test(
        "explains unusable files",
        arguments: [
            (#"not json"#, TokenizerError.Code.malformedFile),
            (#"{"model": {"type": "WordPiece", "vocab": {}}}"#, .unsupported),
            (
                #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}}"#,
                .inconsistentVocabulary
            ),
            (#"{"normalizer": {"type": "NFC"}, "model": {"type": "BPE", "vocab": {}, "merges": []}}"#, .unsupported),
            // Ids that an Int32 would silently truncate (2³² + 5 → 5), negative or fractional ids.
            (#"{"model": {"type": "BPE", "vocab": {"a": 4294967301}, "merges": []}}"#, .malformedFile),
            (#"{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}"#, .malformedFile),
            (#"{"model": {"type": "BPE", "vocab": {"a": 2.5}, "merges": []}}"#, .malformedFile),
            (
                #"{"added_tokens": [{"id": 4294967296, "content": "<x>"}], "model": {"type": "BPE", "vocab": {}, "merges": []}}"#,
                .malformedFile
            ),
        ] as [(String, TokenizerError.Code)])
    func errors(json: String, code: TokenizerError.Code) {
        #expect {
            try BPETokenizer(tokenizerJSON: Data(json.utf8))
        } throws: { error in
            (error as? TokenizerError)?.code == code
        }
    }
}
