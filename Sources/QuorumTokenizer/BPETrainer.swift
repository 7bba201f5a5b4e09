extension BPETokenizer {
    /// The added tokens a Quorum tokenizer has unless told otherwise.
    public static let defaultSpecialTokens = ["<|bos|>", "<|eos|>", "<|pad|>"]

    /// Learns a byte-level BPE vocabulary from `corpus`.
    ///
    /// Ids 0–255 are the single bytes (id = byte value), then come merged tokens in the order they
    /// were learned, then `specialTokens`. Each round merges the most frequent adjacent pair over all
    /// pre-tokenized pieces; ties go to the pair with the smaller (left id, right id), so training is
    /// deterministic. Training stops at `vocabSize` or when no pair occurs `minPairFrequency` times,
    /// so ``vocabSize`` may come out smaller than asked for on a small corpus.
    ///
    /// - Parameters:
    ///   - corpus: texts; each is pre-tokenized on its own.
    ///   - vocabSize: the total number of ids wanted, special tokens included.
    ///   - specialTokens: added tokens to reserve at the end of the vocabulary.
    ///   - preTokenizer: how texts are split (Llama-3's pattern by default).
    ///   - minPairFrequency: the fewest occurrences a pair needs to be merged.
    /// - Throws: ``TokenizerError`` if `vocabSize` cannot hold the 256 bytes and the special tokens.
    public static func train(
        corpus: some Sequence<String>, vocabSize: Int, specialTokens: [String] = defaultSpecialTokens,
        preTokenizer: PreTokenizer = PreTokenizer(), minPairFrequency: Int = 2
    ) throws -> BPETokenizer {
        let uniqueSpecials = specialTokens.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        guard vocabSize >= 256 + uniqueSpecials.count else {
            throw TokenizerError(
                .invalidTrainingRequest,
                "a vocabulary of \(vocabSize) cannot hold the 256 byte tokens and \(uniqueSpecials.count) special "
                    + "tokens: ask for at least \(256 + uniqueSpecials.count)")
        }
        guard !uniqueSpecials.contains(where: \.isEmpty) else {
            throw TokenizerError(.invalidTrainingRequest, "special tokens must not be empty strings")
        }
        var counts: [[UInt8]: Int] = [:]
        for text in corpus {
            let bytes = preTokenizer.prepare(Array(text.utf8)[...])
            for range in preTokenizer.byteRanges(bytes) { counts[Array(bytes[range]), default: 0] += 1 }
        }
        var learner = PairMerger(words: counts)
        let merges = learner.learn(upTo: vocabSize - uniqueSpecials.count, minPairFrequency: max(1, minPairFrequency))

        var vocabulary: [String: Int32] = [:]
        for (id, token) in learner.tokens.enumerated() { vocabulary[token] = Int32(id) }
        let added = uniqueSpecials.enumerated().map {
            AddedToken(id: Int32(learner.tokens.count + $0.offset), content: $0.element)
        }
        for token in added { vocabulary[token.content] = token.id }
        let stringMerges = merges.map { (left: learner.tokens[Int($0.left)], right: learner.tokens[Int($0.right)]) }
        return try BPETokenizer(
            vocabulary: vocabulary, merges: stringMerges, addedTokens: added, preTokenizer: preTokenizer)
    }
}

/// The state of BPE training: every distinct piece as a list of token ids with its count, the count
/// of every adjacent pair, and which pieces hold each pair.
private struct PairMerger {
    /// Byte-level token strings by id.
    private(set) var tokens: [String] = ByteLevel.scalarForByte.map { String(Character($0)) }
    /// Token string → id, to reuse an id when two merges spell the same token.
    private var idOfToken: [String: Int32] = [:]
    /// Each distinct piece as token ids.
    private var words: [[Int32]]
    /// How often each piece occurs.
    private let frequencies: [Int]
    /// Occurrences of each adjacent pair, weighted by piece frequency.
    private var pairCounts: [UInt64: Int] = [:]
    /// The pieces that held each pair when it was counted (may include pieces that no longer do).
    private var pairWords: [UInt64: Set<Int32>] = [:]
    /// Candidate pairs, best first; entries whose count is stale are skipped.
    private var heap = PairHeap()

    init(words counts: [[UInt8]: Int]) {
        // Sort for a deterministic word order (dictionary order varies per process).
        let sorted = counts.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        words = sorted.map { $0.key.map { Int32($0) } }
        frequencies = sorted.map(\.value)
        for (id, token) in tokens.enumerated() { idOfToken[token] = Int32(id) }
        for (index, word) in words.enumerated() {
            for position in 0..<max(0, word.count - 1) {
                let key = MergeTable.key(word[position], word[position + 1])
                pairCounts[key, default: 0] += frequencies[index]
                pairWords[key, default: []].insert(Int32(index))
            }
        }
        for (key, count) in pairCounts { heap.push(PairHeap.Entry(count: count, key: key)) }
    }

    /// Merges pairs until there are `size` tokens or no pair is frequent enough; returns the merges
    /// as id pairs in the order learned.
    mutating func learn(upTo size: Int, minPairFrequency: Int) -> [(left: Int32, right: Int32)] {
        var merges: [(left: Int32, right: Int32)] = []
        while tokens.count < size, let top = heap.pop() {
            guard pairCounts[top.key] == top.count else { continue }  // stale entry
            guard top.count >= minPairFrequency else { break }
            let left = Int32(truncatingIfNeeded: top.key >> 32)
            let right = Int32(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
            let joined = tokens[Int(left)] + tokens[Int(right)]
            let result: Int32
            if let existing = idOfToken[joined] {
                result = existing
            } else {
                result = Int32(tokens.count)
                tokens.append(joined)
                idOfToken[joined] = result
            }
            merges.append((left, right))
            apply(left: left, right: right, result: result, key: top.key)
        }
        return merges
    }

    /// Replaces every occurrence of (left, right) with `result` and updates the pair counts.
    private mutating func apply(left: Int32, right: Int32, result: Int32, key: UInt64) {
        var changed: Set<UInt64> = []
        for index in (pairWords[key] ?? []).sorted() {
            let old = words[Int(index)]
            var new: [Int32] = []
            new.reserveCapacity(old.count)
            var position = 0
            while position < old.count {
                if position + 1 < old.count && old[position] == left && old[position + 1] == right {
                    new.append(result)
                    position += 2
                } else {
                    new.append(old[position])
                    position += 1
                }
            }
            guard new.count != old.count else { continue }
            let frequency = frequencies[Int(index)]
            for position in 0..<(old.count - 1) {
                let pair = MergeTable.key(old[position], old[position + 1])
                pairCounts[pair, default: 0] -= frequency
                changed.insert(pair)
            }
            for position in 0..<max(0, new.count - 1) {
                let pair = MergeTable.key(new[position], new[position + 1])
                pairCounts[pair, default: 0] += frequency
                pairWords[pair, default: []].insert(index)
                changed.insert(pair)
            }
            words[Int(index)] = new
        }
        pairWords[key] = nil
        for pair in changed {
            let count = pairCounts[pair] ?? 0
            if count > 0 {
                heap.push(PairHeap.Entry(count: count, key: pair))
            } else {
                pairCounts[pair] = nil
            }
        }
    }
}

/// A binary max-heap of pairs by count; among equal counts the smaller key (left id, then right id)
/// comes first.
private struct PairHeap {
    /// A pair with the count it had when pushed.
    struct Entry {
        /// The pair's count when pushed.
        let count: Int
        /// The pair, as ``MergeTable/key(_:_:)``.
        let key: UInt64

        /// Whether this entry should come out before `other`.
        func precedes(_ other: Entry) -> Bool { count != other.count ? count > other.count : key < other.key }
    }

    /// The heap's array.
    private var entries: [Entry] = []

    /// Adds an entry.
    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the best entry.
    mutating func pop() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let top = entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var best = parent
            if left < entries.count && entries[left].precedes(entries[best]) { best = left }
            if right < entries.count && entries[right].precedes(entries[best]) { best = right }
            if best == parent { break }
            entries.swapAt(parent, best)
            parent = best
        }
        return top
    }
}
