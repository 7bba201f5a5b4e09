import QuorumTasks
import QuorumCore

/// The settings of pair selection, and the selection itself: from one problem's sampled responses
/// to a ``ProblemVoteOutcome`` (a weighted ``PreferencePair`` or the reason there is none).
///
/// The rules are SCPO's (Prasad et al. 2024, arXiv 2411.04109; docs/papers.md §1 steps 2–5 and 9). Where
/// the paper is silent, this type decides as follows:
///
/// - **Unparsable responses** cast no vote but count in k (they were sampled), so they lower
///   both V(y+)/k and the weight. They are never y− in the vote modes (they belong to no answer
///   cluster); in semi-supervised mode they are incorrect, so they can be y−.
/// - **Extra high-temperature samples** (the paper draws 8 at T = 1.2 in later rounds and does not
///   say whether they vote) do not vote by default: k, V(·) and τ·k count only the ordinary
///   samples, and the extras only widen the pool of rejected candidates. An answer seen only among
///   extras forms a cluster with V = 0, so it is the least-voted one and w = V(y+)/k. y+ is
///   always an ordinary sample; y− is taken from its cluster's ordinary samples when it has any,
///   else from its extras. With ``extrasCountAsVotes`` the extras are simply more samples (k grows).
/// - **Threshold**: the problem is kept when V(y+) ≥ τ·k, compared as real numbers (τ = 0.5, k = 8:
///   4 votes pass; τ = 0.7, k = 8: 5.6, so 6 are needed); see ``minimumVotes(k:)``.
/// - **Order of the checks** (one reason per problem): no parsable answer → below threshold →
///   unanimous → tie. So a unanimous problem below τ·k counts as below threshold.
/// - **Ties between clusters** with equal votes (for y+ or for y−) are broken by the seeded
///   generator: the tied clusters, ordered by their answers' UTF-8 bytes, and one picked uniformly.
///   A tie between y+ and y− (V(y+) = V(y−)) gives w = 0: no pair, counted as ``ProblemVoteOutcome/Status/tie``.
/// - **Determinism**: every random choice comes from one SplitMix64 generator seeded with
///   ``randomKey(seed:problemID:round:)``, so it is a pure function of (seed, problem id, round) and
///   the responses in their given order. Draws happen in a fixed order: y+ cluster, y+ member, y−
///   cluster, y− member (semi-supervised: chosen member, rejected member); a pick from a single
///   candidate still draws once.
/// - **Unweighted** mode makes the same pairs as the weighted vote with w = 1; ties are still
///   dropped, so the two modes train on the same pairs and differ only in weight.
/// - **Semi-supervised** mode applies the gold rule to problems with a gold answer and the weighted
///   vote to the others. The gold rule has no τ threshold; y+ is a correct ordinary sample and y−
///   an incorrect one (a wrong answer or none), from the ordinary samples when there is one, else
///   from the extras; w = 1.
public struct PairSelection: Sendable, Hashable, Codable {
    /// How pairs are chosen and weighted.
    public enum Mode: String, Sendable, Hashable, Codable, CaseIterable {
        /// SCPO: pairs from the vote, weight w = (V(y+) − V(y−)) / k.
        case selfConsistency = "scpo"
        /// Semi-supervised SCPO: the gold rule where a gold answer is known (w = 1), the weighted
        /// vote elsewhere. With every problem labeled this gives IRPO's gold pairs.
        case semiSupervised = "semi"
        /// Unweighted SCPO (the paper's ablation): the vote's pairs with w = 1.
        case unweighted
    }

    /// τ as a fraction of k, in [0, 1]: a problem is kept only if V(y+) ≥ τ·k. The paper uses 0.5
    /// in round 1, and 0.7 (GSM8K) / 0.6 (MATH) in round 2.
    public var tau: Double
    /// The seed of every random choice (combined with the problem id and round).
    public var seed: UInt64
    /// Whether extra high-temperature samples vote like the k ordinary ones (default false: they
    /// only serve as candidates for the rejected response; the paper does not say).
    public var extrasCountAsVotes: Bool
    /// How pairs are chosen and weighted.
    public var mode: Mode

    /// Settings; the defaults are the paper's round 1 (τ = 0.5) with weighted SCPO.
    public init(tau: Double = 0.5, seed: UInt64 = 0, extrasCountAsVotes: Bool = false, mode: Mode = .selfConsistency) {
        self.tau = tau
        self.seed = seed
        self.extrasCountAsVotes = extrasCountAsVotes
        self.mode = mode
    }

    /// The stable JSON keys.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case tau, seed
        case extrasCountAsVotes = "extras_count_as_votes"
        case mode
    }

    /// Checks the settings.
    ///
    /// - Throws: ``VotingError`` with code `invalidSetting` when τ is not a number in [0, 1].
    public func validate() throws(VotingError) {
        guard tau.isFinite, (0...1).contains(tau) else {
            throw VotingError(.invalidSetting, "tau must be a fraction of k between 0 and 1 (got \(tau)), e.g. 0.5")
        }
    }

    /// The fewest votes V(y+) that pass the threshold: the smallest integer ≥ τ·k. A tolerance of
    /// 1e-9 keeps binary rounding from pushing an exact integer up (0.7·30 is 21.000000000000004
    /// in floating point but needs 21 votes).
    public func minimumVotes(k: Int) -> Int {
        max(0, Int((tau * Double(k) - 1e-9).rounded(.up)))
    }

    /// The seed of the generator behind every random choice for one problem in one round, so the
    /// choice is a pure function of (seed, problem id, round), reproducible in any language:
    /// h = FNV-1a-64 of the id's UTF-8 bytes; key = mix(mix(mix(seed) ⊕ h) ⊕ round as 64-bit two's
    /// complement), where mix(x) is the first output of SplitMix64 seeded with x.
    public static func randomKey(seed: UInt64, problemID: String, round: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in problemID.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        func mix(_ value: UInt64) -> UInt64 {
            var generator = SplitMix64(seed: value)
            return generator.next()
        }
        return mix(mix(mix(seed) ^ hash) ^ UInt64(bitPattern: Int64(round)))
    }

    /// The outcome for one problem's responses, which must share one problem id and prompt.
    ///
    /// - Parameters:
    ///   - responses: the k ordinary samples and any extra ones, in the order they were drawn.
    ///   - gold: the gold answer, if the problem has one (canonicalised with
    ///     ``SampledResponse/canonicalAnswer(_:)``); only semi-supervised mode selects with it, every
    ///     mode records it.
    ///   - round: the pipeline round (from 1), recorded in the outcome and pair and part of the seed.
    /// - Throws: ``VotingError`` with code `inconsistentProblem` when `responses` is empty or mixes
    ///   problem ids or prompts.
    public func outcome(for responses: [SampledResponse], gold: String? = nil, round: Int) throws(VotingError)
        -> ProblemVoteOutcome
    {
        guard let first = responses.first else {
            throw VotingError(.inconsistentProblem, "a problem needs at least one response")
        }
        if let other = responses.first(where: { $0.problemID != first.problemID }) {
            throw VotingError(
                .inconsistentProblem,
                "responses of problems \"\(first.problemID)\" and \"\(other.problemID)\" were voted together")
        }
        if responses.contains(where: { $0.prompt != first.prompt }) {
            throw VotingError(
                .inconsistentProblem, "responses of problem \"\(first.problemID)\" have different prompts")
        }
        return outcome(problemID: first.problemID, prompt: first.prompt, responses: responses, gold: gold, round: round)
    }

    /// The outcome for one problem; the responses' own problem ids and prompts are not consulted.
    public func outcome(for problem: ProblemSamples, round: Int) -> ProblemVoteOutcome {
        outcome(
            problemID: problem.problemID, prompt: problem.prompt, responses: problem.responses, gold: problem.gold,
            round: round)
    }

    /// The outcomes for a batch of problems, in order.
    public func outcomes(for problems: some Sequence<ProblemSamples>, round: Int) -> [ProblemVoteOutcome] {
        problems.map { outcome(for: $0, round: round) }
    }

    /// The outcome for one problem given its id and prompt (see the type's notes for every rule).
    public func outcome(
        problemID: String, prompt: String, responses: [SampledResponse], gold: String?, round: Int
    ) -> ProblemVoteOutcome {
        let tally = VoteTally(responses, extrasCountAsVotes: extrasCountAsVotes)
        let goldAnswer = gold.flatMap(SampledResponse.canonicalAnswer)
        var generator = SplitMix64(seed: Self.randomKey(seed: seed, problemID: problemID, round: round))
        var selection: Selection
        if mode == .semiSupervised, let goldAnswer {
            selection = Self.selectByGold(goldAnswer, tally: tally, generator: &generator)
        } else {
            selection = selectByVote(tally: tally, generator: &generator)
        }
        var pair: PreferencePair?
        var margin: Int?
        if let choice = selection.choice {
            let chosen = responses[choice.chosen]
            let rejected = responses[choice.rejected]
            let chosenVotes = tally.votes(for: choice.chosenAnswer)
            let rejectedVotes = rejected.answer.map { tally.votes(for: $0) } ?? 0
            margin = chosenVotes - rejectedVotes
            if choice.source == .selfConsistency && chosenVotes == rejectedVotes {
                // docs/papers.md §1 step 5: a tie gives w = 0 and carries no loss; counted, not trained.
                selection.status = .tie
            } else {
                pair = PreferencePair(
                    problemID: problemID, round: round, prompt: prompt, chosen: chosen.response,
                    rejected: rejected.response, chosenAnswer: choice.chosenAnswer, rejectedAnswer: rejected.answer,
                    weight: weight(
                        chosenVotes: chosenVotes, rejectedVotes: rejectedVotes, k: tally.k, source: choice.source),
                    chosenVotes: chosenVotes, rejectedVotes: rejectedVotes, k: tally.k, source: choice.source)
            }
        }
        return ProblemVoteOutcome(
            problemID: problemID, round: round, mode: mode, k: tally.k,
            answers: tally.clusters.filter { $0.votes > 0 }.map(Self.answerVotes),
            extraAnswers: tally.clusters.filter { $0.votes == 0 }.map(Self.answerVotes),
            unparsable: tally.unparsable.count, extraSamples: tally.responseCount - tally.k,
            unparsableExtraSamples: tally.unparsableExtras.count, gold: goldAnswer, status: selection.status,
            pair: pair, margin: margin)
    }

    /// One cluster's line in the outcome record.
    static func answerVotes(_ cluster: VoteTally.Cluster) -> ProblemVoteOutcome.AnswerVotes {
        ProblemVoteOutcome.AnswerVotes(
            answer: cluster.answer, votes: cluster.votes, extraSamples: cluster.extraMembers.count)
    }

    /// The pair's weight: w = (V(y+) − V(y−)) / k (docs/papers.md §1 step 5) for a weighted vote pair,
    /// 1 for unweighted SCPO and for gold pairs (step 9).
    func weight(chosenVotes: Int, rejectedVotes: Int, k: Int, source: PreferencePair.Source) -> Double {
        guard source == .selfConsistency, mode != .unweighted else { return 1 }
        return Double(chosenVotes - rejectedVotes) / Double(k)
    }

    /// The responses picked for a pair, before the tie check.
    struct Choice {
        /// Index of y+.
        var chosen: Int
        /// Index of y−.
        var rejected: Int
        /// y+'s answer.
        var chosenAnswer: String
        /// Whether the vote or a gold label picked them.
        var source: PreferencePair.Source
    }

    /// A status and, when two responses were picked, which.
    struct Selection {
        /// `paired` while a choice stands (it may become `tie`), else the reason there is none.
        var status: ProblemVoteOutcome.Status
        /// The picked responses.
        var choice: Choice?
    }

    /// SCPO's vote rule (docs/papers.md §1 step 4): y+ from the most-voted cluster, y− from the
    /// least-voted other one, kept only if V(y+) ≥ τ·k.
    func selectByVote(tally: VoteTally, generator: inout SplitMix64) -> Selection {
        let top = tally.maximumVotes
        guard top > 0 else { return Selection(status: .noParsableAnswer) }
        guard top >= minimumVotes(k: tally.k) else { return Selection(status: .belowThreshold) }
        // `clusters` is in canonical order, so tied clusters are ordered by their answers' bytes.
        let chosenCluster = generator.pick(tally.clusters.filter { $0.votes == top })
        let chosen = generator.pick(chosenCluster.members)
        let others = tally.clusters.filter { $0.answer != chosenCluster.answer }
        guard let bottom = others.map(\.votes).min() else { return Selection(status: .unanimous) }
        let rejectedCluster = generator.pick(others.filter { $0.votes == bottom })
        let rejected = generator.pick(
            rejectedCluster.members.isEmpty ? rejectedCluster.extraMembers : rejectedCluster.members)
        return Selection(
            status: .paired,
            choice: Choice(
                chosen: chosen, rejected: rejected, chosenAnswer: chosenCluster.answer, source: .selfConsistency))
    }

    /// The semi-supervised gold rule (docs/papers.md §1 step 9): y+ a correct response, y− an incorrect
    /// one, skipped if either is missing.
    static func selectByGold(
        _ gold: String, tally: VoteTally, generator: inout SplitMix64
    ) -> Selection {
        let correct = tally.clusters.first { $0.answer == gold }?.members ?? []
        guard !correct.isEmpty else { return Selection(status: .noCorrect) }
        let votingIncorrect = tally.clusters.filter { $0.answer != gold }.flatMap(\.members) + tally.unparsable
        let extraIncorrect =
            tally.clusters.filter { $0.answer != gold }.flatMap(\.extraMembers) + tally.unparsableExtras
        // Indices ascending, so the pick depends only on the responses' order.
        let incorrect = (votingIncorrect.isEmpty ? extraIncorrect : votingIncorrect).sorted()
        guard !incorrect.isEmpty else { return Selection(status: .noIncorrect) }
        let chosen = generator.pick(correct)
        let rejected = generator.pick(incorrect)
        return Selection(
            status: .paired, choice: Choice(chosen: chosen, rejected: rejected, chosenAnswer: gold, source: .gold))
    }
}

extension PairSelection.Selection {
    /// A selection that made no pair.
    init(status: ProblemVoteOutcome.Status) {
        self.init(status: status, choice: nil)
    }
}

extension PairSelection {
    /// LMSI's training example for one problem (Huang et al. 2022, the paper's baseline): the
    /// self-consistent answer of *every* problem whose top answer passes τ·k, unanimous problems
    /// included — LMSI trains only on the chosen response, so it needs no rejected one. The chosen
    /// response is a seeded pick from the most-voted cluster (tied clusters: a seeded pick, as in
    /// the vote rule). Returns nil when no answer passes τ·k. The pair's `rejected` is empty, its
    /// weight 1 and its rejected votes those of the least-voted other answer (0 when unanimous).
    public func selfConsistentExample(for problem: ProblemSamples, round: Int) -> PreferencePair? {
        let tally = VoteTally(problem.responses, extrasCountAsVotes: extrasCountAsVotes)
        let top = tally.maximumVotes
        guard top > 0, top >= minimumVotes(k: tally.k) else { return nil }
        var generator = SplitMix64(seed: Self.randomKey(seed: seed, problemID: problem.problemID, round: round))
        let cluster = generator.pick(tally.clusters.filter { $0.votes == top })
        let chosen = problem.responses[generator.pick(cluster.members)]
        let bottom = tally.clusters.filter { $0.answer != cluster.answer && $0.votes > 0 }.map(\.votes).min() ?? 0
        return PreferencePair(
            problemID: problem.problemID, round: round, prompt: problem.prompt, chosen: chosen.response, rejected: "",
            chosenAnswer: cluster.answer, rejectedAnswer: nil, weight: 1, chosenVotes: top, rejectedVotes: bottom,
            k: tally.k, source: .selfConsistency)
    }
}
