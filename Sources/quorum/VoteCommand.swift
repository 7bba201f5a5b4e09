import ArgumentParser
import Foundation
import QuorumVoting

/// `quorum vote`: self-consistency votes and weighted preference pairs from sampled responses.
struct VoteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vote",
        abstract: "Vote on sampled responses and build SCPO preference pairs (pure logic, no model).",
        discussion: """
            Each line of --samples is {"problem_id", "prompt", "response", "answer"?, "gold"?, "extra"?}. \
            Without "answer" the final "#### <number>" line of the response is extracted; "answer": null \
            means the response has none. "extra": true marks an extra high-temperature sample: by default it \
            does not vote and only serves as a rejected candidate (--extras-vote makes it vote). Rows are \
            grouped by problem id. Pair selection follows SCPO (Prasad et al. 2024): y+ from the most-voted \
            answer, y- from the least-voted, kept if V(y+) >= tau*k, weight (V(y+) - V(y-))/k; unanimous \
            problems and ties (weight 0) make no pair but are counted. The same seed, round and input always \
            give the same pairs.
            """)

    @Option(help: "The JSONL file of sampled responses.")
    var samples: String

    @Option(help: "Threshold tau as a fraction of k: keep a problem only if V(y+) >= tau*k (paper: 0.5 in round 1).")
    var tau: Double = 0.5

    @Option(help: "Seed of the random choices (combined with each problem id and the round).")
    var seed: UInt64 = 0

    @Option(help: "The pipeline round (from 1): recorded in every pair and part of the random choices' seed.")
    var round: Int = 1

    @Option(
        help: "scpo (weighted vote), semi (gold pairs where \"gold\" is given, vote elsewhere) or unweighted (w = 1).")
    var mode = PairSelection.Mode.selfConsistency

    @Flag(name: .customLong("extras-vote"), help: "Count extra high-temperature samples as votes.")
    var extrasCountAsVotes = false

    @Option(help: "Write the trainable pairs here as JSONL (ties excluded).")
    var out: String?

    @Option(help: "Write every problem's full outcome record here as JSONL.")
    var outcomes: String?

    @Flag(help: "Print per-problem statistics and the summary as JSON.")
    var json = false

    func validate() throws {
        do {
            try settings.validate()
        } catch {
            throw ValidationError(error.message)
        }
        guard round >= 1 else { throw ValidationError("--round must be 1 or more (got \(round))") }
    }

    /// The pair-selection settings from the flags.
    var settings: PairSelection {
        PairSelection(
            tau: tau, seed: seed, extrasCountAsVotes: extrasCountAsVotes,
            mode: mode)
    }

    func run() async throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: samples))
        } catch {
            throw CommandFailure("cannot read \(samples): \(error.localizedDescription); check the path")
        }
        let problems: [ProblemSamples]
        do {
            problems = try SamplesJSONL.decode(data)
        } catch {
            throw CommandFailure("\(samples) \(error.message)")
        }
        let results = settings.outcomes(for: problems, round: round)
        if let out { try write(results.compactMap(\.pair), to: out) }
        if let outcomes { try write(results, to: outcomes) }
        let report = VoteReport(
            samples: samples, round: round, settings: settings, out: out, outcomes: outcomes, results: results)
        if json {
            try printJSON(report)
        } else {
            for line in report.lines { print(line) }
        }
    }

    /// Writes records as JSONL, replacing the file.
    private func write<Record: Encodable>(_ records: [Record], to path: String) throws {
        do {
            try PairsJSONL.encode(records).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandFailure(
                "cannot write \(path): \(error.localizedDescription); check that the folder exists and is writable")
        }
    }
}
