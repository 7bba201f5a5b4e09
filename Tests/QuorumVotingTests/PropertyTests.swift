import QuorumTasks
import Testing

@testable import QuorumVoting
import QuorumCore

@Suite("Invariants over random vote patterns")
struct PropertyTests {
    @Test("every outcome obeys the rules", arguments: UInt64(0)..<8)
    func invariants(batch: UInt64) throws {
        var random = SplitMix64(seed: 0xC0FFEE ^ batch)
        let taus = [0.0, 0.25, 0.5, 0.6, 0.7, 1.0]
        let modes = PairSelection.Mode.allCases
        for _ in 0..<250 {
            let k = random.int(in: 1...16)
            let alphabet = random.int(in: 1...5)
            func draw() -> String? {
                random.chance(1, in: 6) ? nil : String(random.int(in: 0...(alphabet - 1)))
            }
            let answers = (0..<k).map { _ in draw() }
            let extras = (0..<random.int(in: 0...4)).map { _ in draw() }
            let settings = PairSelection(
                tau: random.pick(taus), seed: random.next(), extrasCountAsVotes: random.chance(1, in: 3),
                mode: random.pick(modes))
            let gold: String? = random.chance(1, in: 2) ? String(random.int(in: 0...(alphabet - 1))) : nil
            let samples = responses(answers, extras: extras)
            let outcome = settings.outcome(problemID: "p", prompt: "Q", responses: samples, gold: gold, round: 1)
            let tally = VoteTally(samples, extrasCountAsVotes: settings.extrasCountAsVotes)
            let context = "answers \(answers) extras \(extras) gold \(gold ?? "-") settings \(settings)"

            // Determinism: the same call again gives the same outcome.
            #expect(outcome == settings.outcome(problemID: "p", prompt: "Q", responses: samples, gold: gold, round: 1))
            #expect(outcome.k == tally.k, "\(context)")
            #expect((outcome.pair != nil) == (outcome.status == .paired), "\(context)")
            #expect(outcome.answers.map(\.votes).reduce(0, +) + outcome.unparsable == outcome.k, "\(context)")
            #expect(outcome.answers.allSatisfy { $0.votes >= 1 }, "\(context)")
            #expect(outcome.extraAnswers.allSatisfy { $0.votes == 0 && $0.extraSamples >= 1 }, "\(context)")
            guard let pair = outcome.pair else { continue }
            let chosen = try #require(samples.first { $0.response == pair.chosen })
            let rejected = try #require(samples.first { $0.response == pair.rejected })
            #expect(chosen.answer == pair.chosenAnswer && rejected.answer == pair.rejectedAnswer, "\(context)")
            #expect(pair.chosenAnswer != pair.rejectedAnswer, "\(context)")
            #expect(!chosen.isExtra || settings.extrasCountAsVotes, "\(context)")
            #expect((0...1).contains(pair.weight), "\(context)")
            #expect(pair.chosenVotes == tally.votes(for: pair.chosenAnswer), "\(context)")
            #expect(pair.k == tally.k, "\(context)")
            switch pair.source {
            case .gold:
                #expect(settings.mode == .semiSupervised && pair.weight == 1, "\(context)")
                #expect(pair.chosenAnswer == SampledResponse.canonicalAnswer(gold ?? ""), "\(context)")
            case .selfConsistency:
                #expect(pair.chosenVotes > pair.rejectedVotes, "\(context)")
                #expect(pair.chosenVotes == tally.maximumVotes, "plurality: \(context)")
                #expect(Double(pair.chosenVotes) >= settings.tau * Double(pair.k) - 1e-9, "\(context)")
                let others = tally.clusters.filter { $0.answer != pair.chosenAnswer }.map(\.votes)
                #expect(pair.rejectedVotes == others.min(), "least-voted: \(context)")
                let expected =
                    settings.mode == .unweighted ? 1 : Double(pair.chosenVotes - pair.rejectedVotes) / Double(pair.k)
                #expect(pair.weight == expected && pair.weight > 0, "\(context)")
            }
        }
    }
}
