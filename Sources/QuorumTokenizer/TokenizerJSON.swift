public import Foundation

/// Reading and writing Hugging Face's `tokenizer.json` (BPE model, byte-level pre-tokenizer and decoder).
extension BPETokenizer {
    /// The Split regex Hugging Face files carry for Llama-3's pre-tokenizer.
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Llama-3's regex with single digits (``PreTokenizer/Pattern/llama3SingleDigits``).
    static let llama3SingleDigitsRegex = llama3Regex.replacingOccurrences(of: #"\p{N}{1,3}"#, with: #"\p{N}"#)
    /// GPT-2's regex, which ByteLevel applies itself when `use_regex` is true.
    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// Loads a tokenizer from the contents of a `tokenizer.json`.
    ///
    /// Accepted: model `BPE` with `vocab` and `merges` (as `"a b"` strings or `["a", "b"]` pairs), no
    /// normalizer, and a pre-tokenizer that is `ByteLevel` (GPT-2 regex or none) or a `Sequence` of a
    /// `Split` with Llama-3's (or GPT-2's) regex and a `ByteLevel` without regex. Post-processors are
    /// ignored: ``encode(_:parseSpecialTokens:)`` never adds BOS/EOS.
    ///
    /// - Throws: ``TokenizerError`` naming the field that is missing or unsupported.
    public convenience init(tokenizerJSON data: Data) throws {
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TokenizerError(.malformedFile, "tokenizer.json must hold a JSON object")
            }
            root = object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError(.malformedFile, "tokenizer.json is not valid JSON: \(error.localizedDescription)")
        }
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError(.malformedFile, "tokenizer.json has no \"model\" object")
        }
        if let type = model["type"] as? String, type != "BPE" {
            throw TokenizerError(.unsupported, "model type \"\(type)\" is not supported; only \"BPE\" is")
        }
        for field in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[field] as? String, !value.isEmpty {
                throw TokenizerError(.unsupported, "model.\(field) = \"\(value)\" is not supported by byte-level BPE")
            }
        }
        if !(root["normalizer"] is NSNull || root["normalizer"] == nil) {
            throw TokenizerError(
                .unsupported, "a normalizer is not supported; byte-level BPE files have \"normalizer\": null")
        }
        guard let rawVocab = model["vocab"] as? [String: Any] else {
            throw TokenizerError(.malformedFile, "model.vocab must be an object of token → id")
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(rawVocab.count)
        for (token, value) in rawVocab {
            guard let id = Self.tokenID(value) else {
                throw TokenizerError(
                    .malformedFile,
                    "model.vocab[\"\(token)\"] is not an integer id in 0…\(Self.maxTokenID) (got \(value))")
            }
            vocabulary[token] = id
        }
        let merges = try Self.parseMerges(model["merges"])
        let added = try Self.parseAddedTokens(root["added_tokens"])
        let preTokenizer = try Self.parsePreTokenizer(root["pre_tokenizer"])
        try self.init(
            vocabulary: vocabulary, merges: merges, addedTokens: added, preTokenizer: preTokenizer,
            ignoreMerges: (model["ignore_merges"] as? Bool) ?? false)
    }

    /// Loads a tokenizer from a `tokenizer.json` file.
    ///
    /// - Throws: ``TokenizerError`` or the file-reading error.
    public convenience init(tokenizerJSON url: URL) throws {
        try self.init(tokenizerJSON: Data(contentsOf: url))
    }

    /// This tokenizer as a Hugging Face `tokenizer.json`, readable by `tokenizers.Tokenizer.from_file`.
    ///
    /// The output is deterministic: vocabulary by id, merges in rank order, as `"left right"` strings,
    /// which every `tokenizers` version reads (byte-level tokens never hold a plain space; if a loaded
    /// vocabulary's do, merges are written as `["left", "right"]` pairs, which need `tokenizers` ≥ 0.20).
    public func tokenizerJSON() -> Data {
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        out += addedTokens.map { token in
            "\n    {\"id\": \(token.id), \"content\": \(jsonString(token.content)), \"single_word\": false, "
                + "\"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": \(token.special)}"
        }.joined(separator: ",")
        out += addedTokens.isEmpty ? "],\n" : "\n  ],\n"
        out += "  \"normalizer\": null,\n  \"pre_tokenizer\": \(preTokenizerJSON()),\n  \"post_processor\": null,\n"
        out +=
            "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n"
        out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
        out += "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n    \"fuse_unk\": false,\n"
        out += "    \"byte_fallback\": false,\n    \"ignore_merges\": \(ignoreMerges),\n    \"vocab\": {"
        out += ids.sorted { $0.value < $1.value }.map { "\n      \(jsonString($0.key)): \($0.value)" }.joined(
            separator: ",")
        out += "\n    },\n    \"merges\": ["
        let asPairs = merges.contains { $0.left.contains(" ") || $0.right.contains(" ") }
        out += merges.map { merge in
            asPairs
                ? "\n      [\(jsonString(merge.left)), \(jsonString(merge.right))]"
                : "\n      \(jsonString(merge.left + " " + merge.right))"
        }.joined(separator: ",")
        out += merges.isEmpty ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n"
        return Data(out.utf8)
    }

    /// The `pre_tokenizer` object for this tokenizer's splitting rule.
    private func preTokenizerJSON() -> String {
        let prefix = preTokenizer.addPrefixSpace
        switch preTokenizer.pattern {
        case .gpt2:
            return
                "{\"type\": \"ByteLevel\", \"add_prefix_space\": \(prefix), \"trim_offsets\": true, \"use_regex\": true}"
        case .llama3, .llama3SingleDigits:
            let regex = preTokenizer.pattern == .llama3 ? Self.llama3Regex : Self.llama3SingleDigitsRegex
            return "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": "
                + "\(jsonString(regex))}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": "
                + "\"ByteLevel\", \"add_prefix_space\": \(prefix), \"trim_offsets\": true, \"use_regex\": false}]}"
        }
    }

    /// The largest token id a file may use (vocabularies are far smaller; ids index arrays).
    static let maxTokenID = 1 << 24

    /// A JSON number as a token id: a whole number in 0…``maxTokenID``, never truncated or rounded.
    static func tokenID(_ value: Any?) -> Int32? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double == double.rounded(), double >= 0, double <= Double(maxTokenID) else { return nil }
        return Int32(double)
    }

    /// `model.merges` in either of Hugging Face's two forms.
    private static func parseMerges(_ value: Any?) throws -> [(left: String, right: String)] {
        guard let list = value as? [Any] else {
            throw TokenizerError(.malformedFile, "model.merges must be a list")
        }
        return try list.enumerated().map { index, entry in
            if let line = entry as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError(
                        .malformedFile, "model.merges[\(index)] \"\(line)\" is not two tokens split by one space")
                }
                return (String(parts[0]), String(parts[1]))
            }
            guard let pair = entry as? [String], pair.count == 2 else {
                throw TokenizerError(.malformedFile, "model.merges[\(index)] is neither \"a b\" nor [\"a\", \"b\"]")
            }
            return (pair[0], pair[1])
        }
    }

    /// `added_tokens`, if any.
    private static func parseAddedTokens(_ value: Any?) throws -> [AddedToken] {
        guard let list = value as? [[String: Any]] else { return [] }
        return try list.enumerated().map { index, entry in
            guard let id = tokenID(entry["id"]), let content = entry["content"] as? String else {
                throw TokenizerError(
                    .malformedFile,
                    "added_tokens[\(index)] needs an integer \"id\" in 0…\(maxTokenID) and a \"content\" string")
            }
            return AddedToken(id: id, content: content, special: (entry["special"] as? Bool) ?? false)
        }
    }

    /// The splitting rule a `pre_tokenizer` object describes.
    private static func parsePreTokenizer(_ value: Any?) throws -> PreTokenizer {
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw TokenizerError(
                .unsupported, "pre_tokenizer is missing; byte-level BPE needs a ByteLevel pre-tokenizer")
        }
        let prefix = (object["add_prefix_space"] as? Bool) ?? false
        switch type {
        case "ByteLevel":
            guard (object["use_regex"] as? Bool) ?? true else {
                throw TokenizerError(
                    .unsupported, "a ByteLevel pre-tokenizer without a regex (no splitting) is not supported")
            }
            return PreTokenizer(pattern: .gpt2, addPrefixSpace: prefix)
        case "Sequence":
            guard let steps = object["pretokenizers"] as? [[String: Any]], steps.count == 2,
                steps[0]["type"] as? String == "Split", steps[1]["type"] as? String == "ByteLevel",
                (steps[1]["use_regex"] as? Bool) == false,
                let regex = (steps[0]["pattern"] as? [String: Any])?["Regex"] as? String
            else {
                throw TokenizerError(
                    .unsupported, "pre_tokenizer Sequence must be [Split(Regex), ByteLevel(use_regex: false)]")
            }
            let behavior = steps[0]["behavior"] as? String ?? "Isolated"
            guard behavior == "Isolated", (steps[0]["invert"] as? Bool ?? false) == false else {
                throw TokenizerError(.unsupported, "Split behavior \"\(behavior)\" is not supported; only Isolated is")
            }
            let addPrefix = (steps[1]["add_prefix_space"] as? Bool) ?? false
            switch regex {
            case llama3Regex: return PreTokenizer(pattern: .llama3, addPrefixSpace: addPrefix)
            case llama3SingleDigitsRegex: return PreTokenizer(pattern: .llama3SingleDigits, addPrefixSpace: addPrefix)
            case gpt2Regex: return PreTokenizer(pattern: .gpt2, addPrefixSpace: addPrefix)
            default:
                throw TokenizerError(
                    .unsupported,
                    "Split regex \(regex) is not one of the Llama-3 (digit groups of 3 or 1) or GPT-2 patterns")
            }
        default:
            throw TokenizerError(.unsupported, "pre_tokenizer type \"\(type)\" is not supported; use ByteLevel")
        }
    }
}

/// `text` as a JSON string literal.
private func jsonString(_ text: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    // Encoding a String cannot fail.
    return String(decoding: try! encoder.encode(text), as: UTF8.self)
}
