/// The votes of one problem's responses, clustered by final answer.
///
/// SCPO (docs/papers.md §1 step 3): V(y) is the number of the k samples whose final answer equals
/// ans(y) — a count, not a fraction. Responses without a parsable answer cast no vote; they still
/// count in k (they were sampled), and are listed in ``unparsable``.
///
/// Which responses vote: the ordinary samples always; the extra high-temperature samples only when
/// `extrasCountAsVotes` is true. Non-voting extras still join their answer's cluster as
/// ``Cluster/extraMembers``, so an answer seen only among them forms a cluster with 0 votes.
public struct VoteTally: Sendable, Hashable {
    /// All responses that share one final answer.
    public struct Cluster: Sendable, Hashable {
        /// The canonical final answer.
        public let answer: String
        /// Indices (into the tallied responses, ascending) of the voting responses with this answer.
        public let members: [Int]
        /// Indices (ascending) of the non-voting extra samples with this answer.
        public let extraMembers: [Int]
        /// V(y): how many of the k voting samples gave this answer.
        public var votes: Int { members.count }
    }

    /// The clusters in canonical order: most votes first; equal votes by answer, comparing UTF-8
    /// bytes (so the order is the same in every language and locale).
    public let clusters: [Cluster]
    /// The number of voting samples, k — including those without a parsable answer.
    public let k: Int
    /// Indices of the voting responses without a parsable answer (they cast no vote).
    public let unparsable: [Int]
    /// Indices of the non-voting extra samples without a parsable answer.
    public let unparsableExtras: [Int]
    /// How many responses were tallied, voting or not.
    public let responseCount: Int

    /// Tallies `responses` (one problem's). When `extrasCountAsVotes` is false (the default of
    /// ``PairSelection``), responses with `isExtra` set do not vote and are not part of k.
    public init(_ responses: [SampledResponse], extrasCountAsVotes: Bool = false) {
        var members: [String: [Int]] = [:]
        var extraMembers: [String: [Int]] = [:]
        var unparsable: [Int] = []
        var unparsableExtras: [Int] = []
        var k = 0
        for (index, response) in responses.enumerated() {
            let votes = !response.isExtra || extrasCountAsVotes
            if votes { k += 1 }
            switch (response.answer, votes) {
            case (let answer?, true): members[answer, default: []].append(index)
            case (let answer?, false): extraMembers[answer, default: []].append(index)
            case (nil, true): unparsable.append(index)
            case (nil, false): unparsableExtras.append(index)
            }
        }
        let answers = Set(members.keys).union(extraMembers.keys)
        clusters = answers.map { answer in
            Cluster(answer: answer, members: members[answer] ?? [], extraMembers: extraMembers[answer] ?? [])
        }.sorted(by: Self.canonicalOrder)
        self.k = k
        self.unparsable = unparsable
        self.unparsableExtras = unparsableExtras
        responseCount = responses.count
    }

    /// V(answer): the votes `answer` received (0 when no voting sample gave it).
    public func votes(for answer: String) -> Int {
        clusters.first { $0.answer == answer }?.votes ?? 0
    }

    /// The largest number of votes any answer received; 0 when no voting sample has an answer.
    public var maximumVotes: Int { clusters.first?.votes ?? 0 }

    /// The canonical order of clusters: more votes first, then answers by their UTF-8 bytes.
    static func canonicalOrder(_ a: Cluster, _ b: Cluster) -> Bool {
        if a.votes != b.votes { return a.votes > b.votes }
        return precedes(a.answer, b.answer)
    }

    /// Whether `a` sorts before `b` by UTF-8 bytes — the answer order used to break ties.
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}
