import Synchronization

/// A byte-level BPE tokenizer (GPT-2 / Llama-3 style) that reads and writes Hugging Face's
/// `tokenizer.json`.
///
/// Text is split by a ``PreTokenizer``, each piece's UTF-8 bytes become byte tokens, and learned
/// merges join neighbours, lowest rank first. Token ids are `Int32` throughout, to match the model's
/// training buffers. Any UTF-8 text round-trips: `decode(encode(text)) == text`.
///
/// Added tokens (`<|bos|>`, `<|eos|>`, `<|pad|>` …) are matched whole in the text by ``encode(_:parseSpecialTokens:)``
/// (as Hugging Face does) and are never produced by merges. `encode` adds no BOS/EOS of its own:
/// callers put ``bosID``/``eosID`` where they want them.
///
/// - Important: Instances are immutable apart from an internal, lock-protected cache of encoded
///   pieces, so one tokenizer may be shared by any number of tasks.
public final class BPETokenizer: Sendable {
    /// Each id's token in byte-level form (added tokens: their content); holes are empty strings.
    let tokens: [String]
    /// Byte-level token string → id, for the BPE vocabulary (not the added tokens).
    let ids: [String: Int32]
    /// The merges as (left, right) token strings, in rank order.
    public let merges: [(left: String, right: String)]
    /// The added tokens, by ascending id.
    public let addedTokens: [AddedToken]
    /// How text is split before BPE.
    public let preTokenizer: PreTokenizer
    /// Whether a piece that is itself in the vocabulary is emitted whole without merging (Llama-3's
    /// `ignore_merges`).
    public let ignoreMerges: Bool

    /// The merges by id pair.
    private let mergeTable: MergeTable
    /// The id of each byte's single-byte token, or -1 if the vocabulary lacks it (such bytes are dropped).
    private let byteIDs: [Int32]
    /// Added tokens by content, for lookup.
    private let addedByContent: [String: AddedToken]
    /// Added tokens with their UTF-8 bytes, longest first, for matching in text.
    private let addedTokensByLength: [(token: AddedToken, bytes: [UInt8])]
    /// The first bytes of the added tokens, to skip most positions quickly.
    private let addedFirstBytes: Set<UInt8>
    /// Ids of added tokens, for decoding.
    private let addedByID: [Int32: AddedToken]
    /// Encoded pieces, keyed by their UTF-8 bytes.
    private let cache = Mutex<[[UInt8]: [Int32]]>([:])
    /// The number of cached pieces after which the cache starts over.
    private static let cacheLimit = 1 << 17

    /// The number of ids: one more than the largest id, added tokens included.
    public var vocabSize: Int { tokens.count }
    /// The id of `<|bos|>`, if the tokenizer has it.
    public var bosID: Int32? { id(ofAddedToken: "<|bos|>") }
    /// The id of `<|eos|>`, if the tokenizer has it.
    public var eosID: Int32? { id(ofAddedToken: "<|eos|>") }
    /// The id of `<|pad|>`, if the tokenizer has it.
    public var padID: Int32? { id(ofAddedToken: "<|pad|>") }

    /// A tokenizer from its parts.
    ///
    /// - Parameters:
    ///   - vocabulary: byte-level token strings and their ids.
    ///   - merges: pairs of token strings, in rank order; each pair's concatenation must be in `vocabulary`.
    ///   - addedTokens: tokens matched whole, such as `<|eos|>`; their ids may also appear in `vocabulary`.
    ///   - preTokenizer: how to split text.
    ///   - ignoreMerges: emit a piece that is a whole token without merging.
    /// - Throws: ``TokenizerError`` when merges refer to unknown tokens or ids collide.
    public init(
        vocabulary: [String: Int32], merges: [(left: String, right: String)], addedTokens: [AddedToken],
        preTokenizer: PreTokenizer = PreTokenizer(), ignoreMerges: Bool = false
    ) throws {
        let size = Int(max(vocabulary.values.max() ?? -1, addedTokens.map(\.id).max() ?? -1)) + 1
        guard size <= 2 * (vocabulary.count + addedTokens.count) + 1024 else {
            throw TokenizerError(
                .inconsistentVocabulary,
                "the largest id, \(size - 1), is far beyond the \(vocabulary.count + addedTokens.count) tokens; "
                    + "ids must be (nearly) contiguous from 0")
        }
        var tokens = [String](repeating: "", count: size)
        for (token, id) in vocabulary {
            guard id >= 0 else { throw TokenizerError(.inconsistentVocabulary, "token \(token) has negative id \(id)") }
            tokens[Int(id)] = token
        }
        var addedByContent: [String: AddedToken] = [:]
        var addedByID: [Int32: AddedToken] = [:]
        for added in addedTokens {
            guard added.id >= 0, !added.content.isEmpty else {
                throw TokenizerError(
                    .inconsistentVocabulary, "added token \"\(added.content)\" needs a non-negative id and text")
            }
            let other = tokens[Int(added.id)]
            guard other.isEmpty || other == added.content else {
                throw TokenizerError(
                    .inconsistentVocabulary,
                    "added token \"\(added.content)\" reuses id \(added.id) of vocabulary token \"\(other)\"")
            }
            tokens[Int(added.id)] = added.content
            addedByContent[added.content] = added
            addedByID[added.id] = added
        }
        var idMerges: [(left: Int32, right: Int32, result: Int32)] = []
        idMerges.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            guard let left = vocabulary[merge.left], let right = vocabulary[merge.right],
                let result = vocabulary[merge.left + merge.right]
            else {
                throw TokenizerError(
                    .inconsistentVocabulary,
                    "merge \(rank) (\"\(merge.left)\" \"\(merge.right)\") uses or makes a token missing from the vocabulary"
                )
            }
            idMerges.append((left, right, result))
        }
        self.tokens = tokens
        self.ids = vocabulary
        self.merges = merges
        self.addedTokens = addedTokens.sorted { $0.id < $1.id }
        self.preTokenizer = preTokenizer
        self.ignoreMerges = ignoreMerges
        self.mergeTable = MergeTable(idMerges)
        self.byteIDs = ByteLevel.scalarForByte.map { vocabulary[String(Character($0))] ?? -1 }
        self.addedByContent = addedByContent
        self.addedTokensByLength = addedTokens.map { ($0, Array($0.content.utf8)) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.token.id < $1.token.id }
        self.addedFirstBytes = Set(addedTokens.compactMap { $0.content.utf8.first })
        self.addedByID = addedByID
    }

    /// The id of an added token such as `<|eos|>`, or nil.
    public func id(ofAddedToken content: String) -> Int32? { addedByContent[content]?.id }

    /// The token an id stands for (byte-level form; added tokens as their text), or nil if unused.
    public func token(for id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count, !tokens[Int(id)].isEmpty else { return nil }
        return tokens[Int(id)]
    }

    /// The id of a byte-level token string (e.g. `"Ġthe"`) or of an added token, or nil.
    public func id(of token: String) -> Int32? { addedByContent[token]?.id ?? ids[token] }

    // MARK: Encoding

    /// The token ids of `text`.
    ///
    /// - Parameter parseSpecialTokens: when true (the default, as in Hugging Face), added tokens
    ///   written in the text, such as `<|eos|>`, become their ids; when false they are encoded as
    ///   ordinary text.
    public func encode(_ text: String, parseSpecialTokens: Bool = true) -> [Int32] {
        let bytes = Array(text.utf8)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 1)
        guard parseSpecialTokens, !addedByContent.isEmpty else {
            encodeOrdinary(bytes[...], into: &output)
            return output
        }
        var segmentStart = 0
        var position = 0
        while position < bytes.count {
            guard addedFirstBytes.contains(bytes[position]),
                let added = addedTokensByLength.first(where: { bytes[position...].starts(with: $0.bytes) })
            else {
                position += 1
                continue
            }
            encodeOrdinary(bytes[segmentStart..<position], into: &output)
            output.append(added.token.id)
            position += added.bytes.count
            segmentStart = position
        }
        encodeOrdinary(bytes[segmentStart...], into: &output)
        return output
    }

    /// Encodes UTF-8 text that holds no added tokens.
    private func encodeOrdinary(_ text: ArraySlice<UInt8>, into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        let bytes = preTokenizer.prepare(text)
        for range in preTokenizer.byteRanges(bytes) {
            if range.count == 1 {
                let id = byteIDs[Int(bytes[range.lowerBound])]
                if id >= 0 { output.append(id) }
                continue
            }
            let piece = Array(bytes[range])
            if let cached = cache.withLock({ $0[piece] }) {
                output.append(contentsOf: cached)
                continue
            }
            let encoded = encodePiece(piece)
            cache.withLock { cache in
                if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[piece] = encoded
            }
            output.append(contentsOf: encoded)
        }
    }

    /// BPE on one piece's bytes.
    private func encodePiece(_ bytes: [UInt8]) -> [Int32] {
        if ignoreMerges, let whole = ids[ByteLevel.encode(bytes)] { return [whole] }
        var symbols: [Int32] = []
        symbols.reserveCapacity(bytes.count)
        for byte in bytes where byteIDs[Int(byte)] >= 0 { symbols.append(byteIDs[Int(byte)]) }
        mergeTable.merge(&symbols)
        return symbols
    }

    // MARK: Decoding

    /// The text of `ids`. Byte sequences that are not valid UTF-8 (a piece cut mid-character)
    /// become U+FFFD; unknown ids are skipped.
    ///
    /// - Parameter skipSpecialTokens: leave out added tokens marked special, such as `<|eos|>`.
    public func decode(_ ids: some Sequence<Int32>, skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if let added = addedByID[id] {
                if !(skipSpecialTokens && added.special) { bytes.append(contentsOf: added.content.utf8) }
                continue
            }
            guard let token = token(for: id) else { continue }
            for scalar in token.unicodeScalars {
                if let byte = ByteLevel.byteForScalar[scalar] {
                    bytes.append(byte)
                } else {
                    bytes.append(contentsOf: String(Character(scalar)).utf8)
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
