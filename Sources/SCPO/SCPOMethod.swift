public import QuorumVoting
import QuorumCore

/// A self-training method: SCPO or one of the paper's baselines, as a pipeline or an experiment
/// runs it end to end — which problems are labeled, how a round's samples become training examples,
/// and the objective trained on them (docs/papers.md §1, "Baselines").
///
/// | method | labeled problems | examples | objective |
/// |---|---|---|---|
/// | `scpo` | none | weighted vote pairs | ``SCPOMode/scpo`` |
/// | `scpo-unweighted` | none | the same pairs, w = 1 | ``SCPOMode/scpoUnweighted`` |
/// | `scpo-semi` | a fixed fraction | gold pairs where labeled, vote pairs elsewhere | ``SCPOMode/scpo`` |
/// | `irpo-gold` | all | gold pairs only | ``SCPOMode/irpoGold`` |
/// | `lmsi` | none | the self-consistent answer of each problem passing τ | ``SCPOMode/lmsi`` |
public enum SCPOMethod: String, Sendable, Hashable, Codable, CaseIterable {
    case scpo
    case scpoSemi = "scpo-semi"
    case irpoGold = "irpo-gold"
    case lmsi
    case scpoUnweighted = "scpo-unweighted"

    /// The training objective (`scpo-semi` trains SCPO's loss on its mix of vote and gold pairs).
    public var objective: SCPOMode {
        switch self {
        case .scpo, .scpoSemi: .scpo
        case .scpoUnweighted: .scpoUnweighted
        case .irpoGold: .irpoGold
        case .lmsi: .lmsi
        }
    }

    /// How a pipeline worker chooses pairs for this method: gold pairs where a problem carries its
    /// gold answer (`scpo-semi`, `irpo-gold`), unweighted or weighted vote pairs otherwise.
    public var pairRule: PairSelection.Mode {
        switch self {
        case .scpoSemi, .irpoGold: .semiSupervised
        case .scpoUnweighted: .unweighted
        case .scpo, .lmsi: .selfConsistency
        }
    }

    /// Whether the problem `id` is shown with its gold answer: every problem for `irpo-gold`, a
    /// deterministic `fraction` of them for `scpo-semi` (a pick from the id's hash, the same in every
    /// run and on every machine), none otherwise.
    public func isLabeled(id: String, fraction: Double) -> Bool {
        switch self {
        case .irpoGold: true
        case .scpoSemi: Double((SampleStreams.first(problemID: id) >> 16) % 10_000) / 10_000 < fraction
        case .scpo, .scpoUnweighted, .lmsi: false
        }
    }

    /// The training examples of one round's samples (docs/papers.md §1 steps 4–5 and 9 and the
    /// baselines): `scpo` the weighted vote pairs, `scpo-unweighted` the same pairs with w = 1,
    /// `irpo-gold` gold pairs on every problem, `scpo-semi` gold pairs on the labeled fraction and vote
    /// pairs elsewhere, `lmsi` the self-consistent answer of every problem passing τ. Gold answers
    /// the method does not label are never seen.
    public func trainingExamples(
        _ samples: [ProblemSamples], tau: Double, labeledFraction: Double, round: Int
    ) -> [PreferencePair] {
        let selection = PairSelection(tau: tau, mode: pairRule)
        return samples.compactMap { problem in
            var shown = problem
            if !isLabeled(id: problem.problemID, fraction: labeledFraction) { shown.gold = nil }
            switch self {
            case .lmsi: return selection.selfConsistentExample(for: shown, round: round)
            case .irpoGold: return problem.gold == nil ? nil : selection.outcome(for: shown, round: round).pair
            case .scpo, .scpoSemi, .scpoUnweighted: return selection.outcome(for: shown, round: round).pair
            }
        }
    }
}
