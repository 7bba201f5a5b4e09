/// The learned merges, looked up by the pair of token ids they join: the heart of BPE encoding.
struct MergeTable: Sendable {
    /// What a merge produces and how early it was learned.
    struct Entry: Sendable {
        /// The merge's position in the merge list; lower merges first.
        let rank: Int32
        /// The id of the joined token.
        let result: Int32
    }

    /// Entries keyed by ``key(_:_:)`` of the left and right ids.
    private let entries: [UInt64: Entry]

    /// A table from merges given as (left id, right id, result id), in rank order. When the same pair
    /// appears twice, the earlier merge wins, as in Hugging Face `tokenizers`.
    init(_ merges: [(left: Int32, right: Int32, result: Int32)]) {
        var entries: [UInt64: Entry] = [:]
        entries.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() where entries[Self.key(merge.left, merge.right)] == nil {
            entries[Self.key(merge.left, merge.right)] = Entry(rank: Int32(rank), result: merge.result)
        }
        self.entries = entries
    }

    /// The dictionary key of a pair.
    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Applies merges to `symbols` until none applies: each round joins the leftmost occurrence of
    /// the lowest-ranked pair present (GPT-2's `bpe`, one occurrence at a time).
    func merge(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var best: (index: Int, entry: Entry)?
            for index in 0..<(symbols.count - 1) {
                guard let entry = entries[Self.key(symbols[index], symbols[index + 1])] else { continue }
                if best == nil || entry.rank < best!.entry.rank { best = (index, entry) }
            }
            guard let best else { return }
            symbols[best.index] = best.entry.result
            symbols.remove(at: best.index + 1)
        }
    }
}
