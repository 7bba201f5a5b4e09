import QuorumVoting

/// Responses of one problem with the given answers (nil: no parsable answer). Response i's text is
/// "response i" (extras "extra i"), so a test can tell which one was picked.
func responses(_ answers: [String?], extras: [String?] = [], problemID: String = "p", prompt: String = "Q")
    -> [SampledResponse]
{
    answers.enumerated().map { index, answer in
        SampledResponse(problemID: problemID, prompt: prompt, response: "response \(index)", answer: answer)
    }
        + extras.enumerated().map { index, answer in
            SampledResponse(
                problemID: problemID, prompt: prompt, response: "extra \(index)", answer: answer, isExtra: true)
        }
}

/// A vote pattern written compactly: one character per sample, `.` for no answer ("aaab." → a, a, a, b, none).
func pattern(_ text: String) -> [String?] {
    text.map { $0 == "." ? nil : String($0) }
}

/// The outcome of one problem under `settings`.
func vote(
    _ answers: [String?], extras: [String?] = [], gold: String? = nil, settings: PairSelection = PairSelection(),
    problemID: String = "p", round: Int = 1
) -> ProblemVoteOutcome {
    settings.outcome(
        problemID: problemID, prompt: "Q", responses: responses(answers, extras: extras, problemID: problemID),
        gold: gold, round: round)
}
