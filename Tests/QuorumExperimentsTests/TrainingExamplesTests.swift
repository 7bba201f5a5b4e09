import QuorumExperiments
import QuorumPipeline
import QuorumVoting
import SCPO
import Testing

/// Which examples each method trains on, on hand-made vote patterns.
@Suite struct TrainingExamplesTests {
    /// Eight samples per problem, the answers as written ("." = no answer), gold answer `gold`.
    static func problem(_ id: String, _ answers: String, gold: String) -> ProblemSamples {
        let responses = answers.enumerated().map { index, answer in
            SampledResponse(
                problemID: id, prompt: "Q \(id)", response: "\(id) response \(index)",
                answer: answer == "." ? nil : String(answer))
        }
        return ProblemSamples(problemID: id, prompt: "Q \(id)", gold: gold, responses: responses)
    }

    let samples = [
        problem("unanimous", "55555555", gold: "5"),
        problem("majority", "33337780", gold: "3"),
        problem("scattered", "123456..", gold: "1"),
        problem("wrong-majority", "99999944", gold: "4"),
    ]

    @Test func lmsiTrainsOnEveryProblemPassingTauUnanimousOnesIncluded() {
        let examples = SCPOMethod.lmsi.trainingExamples(
            samples, tau: 0.5, labeledFraction: 0, round: 1)
        #expect(examples.map(\.problemID) == ["unanimous", "majority", "wrong-majority"])
        #expect(examples.map(\.chosenAnswer) == ["5", "3", "9"])
        #expect(examples.allSatisfy { $0.weight == 1 && $0.rejected.isEmpty })
        // The chosen response is one of the top cluster's.
        #expect(examples[1].chosen.hasPrefix("majority response ") && Int(examples[1].chosen.suffix(1))! < 4)
        #expect(examples.map(\.rejectedVotes) == [0, 1, 2])
        // Three of the four self-consistent answers are right.
        #expect(ExperimentRunner.precision(examples, samples: samples) == 2.0 / 3.0)
    }

    @Test func scpoPairsSkipUnanimousAndScatteredProblems() {
        let pairs = SCPOMethod.scpo.trainingExamples(
            samples, tau: 0.5, labeledFraction: 0, round: 1)
        #expect(pairs.map(\.problemID) == ["majority", "wrong-majority"])
        // w = (V(y+) − V(y−)) / k: (4 − 1) / 8 and (6 − 2) / 8.
        #expect(pairs.map(\.weight) == [3.0 / 8, 4.0 / 8])
        let unweighted = SCPOMethod.scpoUnweighted.trainingExamples(
            samples, tau: 0.5, labeledFraction: 0, round: 1)
        #expect(unweighted.map(\.problemID) == pairs.map(\.problemID))
        #expect(unweighted.allSatisfy { $0.weight == 1 })
    }

    @Test func goldPairsUseTheLabelsAndSemiSupervisedOnlyTheLabeledFraction() {
        let gold = SCPOMethod.irpoGold.trainingExamples(
            samples, tau: 0.5, labeledFraction: 0, round: 1)
        // "unanimous" has no incorrect sample; the others have a right and a wrong one.
        #expect(gold.map(\.problemID) == ["majority", "scattered", "wrong-majority"])
        #expect(gold.allSatisfy { $0.source == .gold && $0.weight == 1 })
        #expect(gold.first { $0.problemID == "wrong-majority" }?.chosenAnswer == "4")
        let none = SCPOMethod.scpoSemi.trainingExamples(
            samples, tau: 0.5, labeledFraction: 0, round: 1)
        #expect(none == SCPOMethod.scpo.trainingExamples(
            samples, tau: 0.5, labeledFraction: 0, round: 1))
        let all = SCPOMethod.scpoSemi.trainingExamples(
            samples, tau: 0.5, labeledFraction: 1, round: 1)
        #expect(all == gold)
    }

    @Test func onlyTheMethodsThatUseLabelsSeeThem() {
        let ids = (0..<2000).map { "problem-\($0)" }
        #expect(ids.allSatisfy { SCPOMethod.irpoGold.isLabeled(id: $0, fraction: 0) })
        for method in [SCPOMethod.scpo, .scpoUnweighted, .lmsi] {
            #expect(!ids.contains { method.isLabeled(id: $0, fraction: 1) })
        }
        // scpo-semi: a deterministic subset close to the fraction, nested as the fraction grows.
        let quarter = Set(ids.filter { SCPOMethod.scpoSemi.isLabeled(id: $0, fraction: 0.25) })
        let half = Set(ids.filter { SCPOMethod.scpoSemi.isLabeled(id: $0, fraction: 0.5) })
        #expect(abs(Double(quarter.count) / 2000 - 0.25) < 0.04)
        #expect(quarter.isSubset(of: half) && half.count > quarter.count)
    }
}
