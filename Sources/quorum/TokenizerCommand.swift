import ArgumentParser
import Foundation
import QuorumTraining
import QuorumTokenizer

/// `quorum tokenizer …`: byte-level BPE tokenizers.
struct TokenizerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Train byte-level BPE tokenizers (Hugging Face tokenizer.json format).",
        subcommands: [Train.self, Encode.self])

    /// `quorum tokenizer train`: learns a vocabulary from a corpus file.
    struct Train: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn a byte-level BPE vocabulary and write tokenizer.json.",
            discussion: """
                The corpus is a .jsonl file of problems (each line's question and solution are used) \
                or a .txt file (each line is one text). The special tokens get the last ids.
                """)

        @Option(help: "The corpus: FILE.jsonl (problems) or FILE.txt (one text per line).")
        var corpus: String

        @Option(help: "Total vocabulary size, special tokens included (at least 256 + specials).")
        var vocabSize: Int

        @Option(help: "Comma-separated special tokens.")
        var specialTokens: String = BPETokenizer.defaultSpecialTokens.joined(separator: ",")

        @Option(help: "The tokenizer.json file to write.")
        var out: String

        @Flag(help: "Split numbers into single digits instead of Llama-3's groups of up to three.")
        var singleDigits = false

        @Flag(help: "Print a JSON summary instead of a sentence.")
        var json = false

        func run() async throws {
            let texts = try readCorpus(corpus)
            let specials = specialTokens.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            let start = Date()
            let tokenizer: BPETokenizer
            do {
                tokenizer = try BPETokenizer.train(
                    corpus: texts, vocabSize: vocabSize, specialTokens: specials,
                    preTokenizer: PreTokenizer(pattern: singleDigits ? .llama3SingleDigits : .llama3))
            } catch let error as TokenizerError {
                throw CommandFailure(error.message)
            }
            let seconds = Date().timeIntervalSince(start)
            do {
                try tokenizer.tokenizerJSON().write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw CommandFailure(
                    "cannot write \(out): \(error.localizedDescription); check that the folder exists and is writable")
            }
            if json {
                let summary: [String: Any] = [
                    "corpus": corpus, "texts": texts.count, "vocab_size": tokenizer.vocabSize,
                    "requested_vocab_size": vocabSize, "merges": tokenizer.merges.count,
                    "special_tokens": specials, "single_digits": singleDigits,
                    "seconds": (seconds * 1000).rounded() / 1000, "out": out,
                ]
                let encoded = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
                print(String(decoding: encoded, as: UTF8.self))
            } else {
                print(
                    "trained \(tokenizer.vocabSize) tokens (\(tokenizer.merges.count) merges) on \(texts.count) texts "
                        + "in \(String(format: "%.2f", seconds)) s; wrote \(out)")
            }
        }
    }

    /// `quorum tokenizer encode`: encodes a corpus and reports speed and compression.
    struct Encode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode a corpus with a tokenizer.json and report tokens per second.",
            discussion: "Also checks that every text decodes back to itself.")

        @Option(help: "The tokenizer.json to use.")
        var tokenizer: String

        @Option(help: "The corpus: FILE.jsonl (problems) or FILE.txt (one text per line).")
        var corpus: String

        @Flag(help: "Print a JSON summary instead of a sentence.")
        var json = false

        func run() async throws {
            let loaded: BPETokenizer
            do {
                loaded = try BPETokenizer(tokenizerJSON: URL(fileURLWithPath: tokenizer))
            } catch let error as TokenizerError {
                throw CommandFailure("\(tokenizer): \(error.message)")
            } catch {
                throw CommandFailure("cannot read \(tokenizer): check the path (\(error.localizedDescription))")
            }
            let report = EncodingReport(tokenizer: loaded, texts: try readCorpus(corpus))
            if json { try printJSON(report) } else { print(report.line) }
            if report.roundTripFailures > 0 { throw ExitCode.failure }
        }
    }
}

/// The texts of a corpus file, or a failure that says what is wrong with it.
private func readCorpus(_ path: String) throws -> [String] {
    do { return try TokenizerCorpus.read(path) } catch { throw CommandFailure("\(error)") }
}
