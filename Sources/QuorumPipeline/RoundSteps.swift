/// A round's step logic without I/O, in the manner of postgres-nio's connection state machine: what
/// the runner does next follows from the state PostgreSQL holds alone, so a stopped run resumes at
/// the step it stopped in and the logic is tested without a database or a broker.
public enum RoundStep: Equatable, Sendable {
    /// The round is done: nothing to do.
    case finished
    /// The round failed earlier: it needs a person (inspect, then reset) before it runs again.
    case refuse(failure: String?)
    /// `pending`: open the round for sampling.
    case startSampling
    /// `sampling`: publish the problems, wait for every vote record, then move to `training`.
    case sample
    /// `training`: train M_round (or find it published), then move to `evaluating`; a failure moves
    /// the round to `failed`.
    case train
    /// `evaluating`: evaluate M_round once, then move to `done`.
    case evaluate

    /// The step for a round in `state`.
    public init(_ state: RoundState, failure: String? = nil) {
        switch state {
        case .done: self = .finished
        case .failed: self = .refuse(failure: failure)
        case .pending: self = .startSampling
        case .sampling: self = .sample
        case .training: self = .train
        case .evaluating: self = .evaluate
        }
    }

    /// The state the round moves to once the step succeeded; nil for `finished` and `refuse`.
    public var nextState: RoundState? {
        switch self {
        case .finished, .refuse: nil
        case .startSampling: .sampling
        case .sample: .training
        case .train: .evaluating
        case .evaluate: .done
        }
    }
}

/// Watches a sampling round's vote count and says when to stop waiting and when to re-publish the
/// problems still without a vote record (a broker restart loses queued messages; PostgreSQL knows
/// what is missing). Time is passed in, so the rule is tested without waiting.
public struct SamplingWatch: Sendable {
    /// What to do after one look at the round.
    public enum Decision: Equatable, Sendable {
        /// Every problem has its vote record.
        case complete
        /// Keep waiting.
        case wait
        /// No new vote for `republishAfter`: re-publish what is missing, then keep waiting.
        case republish
    }

    /// How long without a new vote before missing problems are re-published.
    public let republishAfter: Duration
    /// The vote count at the last look (−1 before the first).
    public private(set) var lastVoted = -1
    /// When the vote count last changed (or missing problems were last re-published).
    public private(set) var lastChange: ContinuousClock.Instant

    /// A watch that starts at `now`.
    public init(republishAfter: Duration, now: ContinuousClock.Instant) {
        self.republishAfter = republishAfter
        lastChange = now
    }

    /// Records one look at the round (`voted` of `problems` have their vote record) at `now`;
    /// `progressed` says whether the count moved since the last look.
    public mutating func observe(voted: Int, problems: Int, now: ContinuousClock.Instant) -> (
        decision: Decision, progressed: Bool
    ) {
        let progressed = voted != lastVoted
        if progressed {
            lastVoted = voted
            lastChange = now
        }
        if voted >= problems { return (.complete, progressed) }
        if now - lastChange > republishAfter {
            lastChange = now
            return (.republish, progressed)
        }
        return (.wait, progressed)
    }
}
