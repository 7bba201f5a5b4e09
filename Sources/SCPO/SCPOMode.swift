public import QuorumVoting

/// The objective a run trains: SCPO or one of the baselines the paper compares against, each a
/// setting of the one ``SCPOLoss`` (docs/papers.md §1, "Baselines").
///
/// | mode | pairs used | weight | preference term | NLL term |
/// |---|---|---|---|---|
/// | `scpo` | all (w = 0 pairs dropped) | the pair's w | yes | α·w |
/// | `scpo-unweighted` | all | 1 | yes | α |
/// | `irpo-gold` | `source = gold` only | 1 | yes | α (IRPO: Pang et al. 2024) |
/// | `lmsi` | all, chosen response only | 1 | no | α (Huang et al. 2022: SFT on y+) |
///
/// With w = 1 and α = 0 the loss is DPO; `irpo-gold` with α = 0 is exactly that.
public enum SCPOMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// Weighted SCPO: w = (V(y+) − V(y−))/k from the pair.
    case scpo
    /// IRPO on gold pairs (the supervised baseline): only pairs whose source is `gold`, w = 1.
    case irpoGold = "irpo-gold"
    /// LMSI: length-normalised NLL of the self-consistent chosen answer, no preference term, w = 1.
    case lmsi
    /// Unweighted SCPO (the paper's ablation): the vote's pairs with w = 1.
    case scpoUnweighted = "scpo-unweighted"

    /// The loss of this mode with the run's β and α.
    public func loss(beta: Double, alpha: Double) -> SCPOLoss {
        SCPOLoss(beta: beta, alpha: alpha, preferenceTerm: self != .lmsi)
    }

    /// The weight the loss gives `pair` in this mode.
    public func weight(of pair: PreferencePair) -> Double {
        self == .scpo ? pair.weight : 1
    }

    /// Whether this mode trains on `pair` at all: `irpo-gold` keeps gold pairs only, `scpo` drops
    /// pairs of weight 0 (they carry no loss; docs/papers.md §1 step 5).
    public func uses(_ pair: PreferencePair) -> Bool {
        switch self {
        case .scpo: return pair.weight > 0
        case .irpoGold: return pair.source == .gold
        case .lmsi, .scpoUnweighted: return true
        }
    }

    /// Whether the rejected responses are run through the models (not for LMSI).
    public var needsRejected: Bool { self != .lmsi }
}
