import Foundation

/// The committed fixtures beside this file (made by `ops/fixtures/make_tokenizer_fixture.py`).
enum FixtureFiles {
    /// The fixture folder, found from this source file's path so no resource bundle is needed.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The bytes of a fixture file.
    static func data(_ name: String) throws -> Data { try Data(contentsOf: folder.appendingPathComponent(name)) }

    /// The training corpus: one text per line.
    static func corpus() throws -> [String] {
        String(decoding: try data("corpus.txt"), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// What Hugging Face `tokenizers` produced for the test strings.
    struct Expected: Decodable {
        /// The `tokenizers` version that made the file.
        let tokenizers_version: String
        /// The test strings.
        let strings: [String]
        /// Ids per tokenizer file name, one list per string.
        let ids: [String: [[Int32]]]
        /// `decode(encode(s))` per tokenizer file name.
        let decoded: [String: [String]]
        /// Pre-tokenized pieces (byte-level form) per pattern name ("llama3", "gpt2").
        let pieces: [String: [[String]]]
    }

    /// The parsed `expected.json`.
    static func expected() throws -> Expected { try JSONDecoder().decode(Expected.self, from: data("expected.json")) }
}
