import Foundation
public import QuorumPipeline

/// An experiment's results in the paper's shape: accuracy per mode and round, and the paired
/// differences the paper's claims rest on.
public struct ExperimentTable: Sendable, Codable {
    /// One model row.
    public struct Row: Sendable, Codable, Equatable {
        /// The mode (`seed` for M0).
        public var mode: String
        /// The round (0 for M0).
        public var round: Int
        /// Greedy accuracy.
        public var greedy: Estimate
        /// Majority-of-k accuracy (nil without a vote evaluation).
        public var majority: Estimate?
        /// Mean training examples over seeds (nil for M0).
        public var pairs: Double?
        /// Mean fraction of training examples whose chosen answer is the gold one.
        public var pairPrecision: Double?
        /// The epoch each seed's round kept (0: M_t itself), in seed order.
        public var keptEpochs: [Int]

        enum CodingKeys: String, CodingKey {
            case mode, round, greedy, majority, pairs, pairPrecision = "pair_precision", keptEpochs = "kept_epochs"
        }
    }

    /// One paired difference (greedy accuracy, points as a fraction).
    public struct Difference: Sendable, Codable, Equatable {
        /// What minus what, e.g. `scpo M2 − M0`.
        public var label: String
        /// The difference of greedy accuracy.
        public var greedy: Estimate
    }

    /// The experiment's name.
    public var experiment: String
    /// The serving format(s) the evaluations ran in.
    public var formats: [String]
    /// Test problems per evaluation.
    public var problems: Int
    /// k of the majority vote.
    public var k: Int
    /// The seeds with results.
    public var seeds: [Int]
    /// The rows: M0, then each mode's rounds.
    public var rows: [Row]
    /// The paired differences.
    public var differences: [Difference]

    /// The table of `evaluations` (and the models' training summaries), modes in `modes` order.
    public init(experiment: String, modes: [String], evaluations: [StoredEvaluation], models: [StoredModel]) {
        self.experiment = experiment
        formats = Array(Set(evaluations.map(\.format))).sorted()
        problems = evaluations.first?.greedy.count ?? 0
        k = evaluations.first { $0.k > 0 }?.k ?? 0
        seeds = Array(Set(evaluations.map(\.key.seed))).sorted()
        let byKey = Dictionary(evaluations.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let modelsByKey = Dictionary(models.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let seeds = self.seeds
        let rounds = (evaluations.map(\.key.round).max() ?? 0)

        func evaluation(_ mode: String, _ round: Int, _ seed: Int) -> StoredEvaluation? {
            byKey[round == 0 ? .seedModel(seed) : ModelKey(seed: seed, mode: mode, round: round)]
        }
        func row(_ mode: String, _ round: Int) -> Row? {
            let found = seeds.compactMap { evaluation(mode, round, $0) }
            guard let greedy = TableArithmetic.accuracy(found.map(\.greedy)) else { return nil }
            let trained = seeds.compactMap { modelsByKey[ModelKey(seed: $0, mode: mode, round: round)] }
            let pairs = trained.compactMap(\.pairs)
            let precisions = trained.compactMap(\.pairPrecision)
            return Row(
                mode: round == 0 ? ModelKey.seedMode : mode, round: round, greedy: greedy,
                majority: TableArithmetic.accuracy(found.map(\.majority)),
                pairs: pairs.isEmpty ? nil : Double(pairs.reduce(0, +)) / Double(pairs.count),
                pairPrecision: precisions.isEmpty ? nil : precisions.reduce(0, +) / Double(precisions.count),
                keptEpochs: trained.compactMap(\.keptEpoch))
        }
        func difference(_ label: String, _ a: (String, Int), _ b: (String, Int)) -> Difference? {
            let pairs = seeds.compactMap { seed -> (a: [Bool], b: [Bool])? in
                guard let x = evaluation(a.0, a.1, seed), let y = evaluation(b.0, b.1, seed) else { return nil }
                return (x.greedy, y.greedy)
            }
            return TableArithmetic.difference(pairs).map { Difference(label: label, greedy: $0) }
        }

        var rows: [Row] = []
        if let seedRow = row(ModelKey.seedMode, 0) { rows.append(seedRow) }
        for mode in modes {
            for round in stride(from: 1, through: rounds, by: 1) {
                if let r = row(mode, round) { rows.append(r) }
            }
        }
        self.rows = rows

        var differences: [Difference] = []
        for mode in modes {
            for round in stride(from: 1, through: rounds, by: 1) {
                if let d = difference("\(mode) M\(round) − M0", (mode, round), (ModelKey.seedMode, 0)) {
                    differences.append(d)
                }
            }
        }
        let comparisons = [
            ("scpo", "irpo-gold"), ("scpo", "scpo-unweighted"), ("scpo-semi", "irpo-gold"), ("scpo", "lmsi"),
        ]
        for (a, b) in comparisons where modes.contains(a) && modes.contains(b) {
            for round in stride(from: 1, through: rounds, by: 1) {
                if let d = difference("\(a) − \(b) at M\(round)", (a, round), (b, round)) { differences.append(d) }
            }
        }
        self.differences = differences
    }

    /// The table as Markdown: accuracy rows, then the paired differences.
    public var markdown: String {
        func percent(_ e: Estimate?) -> String {
            guard let e else { return "–" }
            let se = e.standardError.map { String(format: " ± %.1f", $0 * 100) } ?? ""
            return String(format: "%.1f", e.mean * 100) + se
        }
        func points(_ e: Estimate) -> String {
            let se = e.standardError.map { String(format: " ± %.1f", $0 * 100) } ?? ""
            return String(format: "%+.1f", e.mean * 100) + se
        }
        let basis =
            seeds.count >= 2
            ? "standard error over \(seeds.count) seeds" : "standard error (one seed: the test set's, binomial)"
        let majority = k > 0
        var lines = [
            "Experiment `\(experiment)`: seed\(seeds.count == 1 ? "" : "s") "
                + "\(seeds.map(String.init).joined(separator: ", ")), \(problems) held-out test problems, sampled and "
                + "evaluated in \(formats.joined(separator: "/")); mean ± \(basis). "
                + "\"seeds\": how many seeds a row has so far; \"kept epoch\": the epoch the dev split chose "
                + "(0: M_t itself, no epoch beat it).",
            "",
            "| model | seeds | greedy % |" + (majority ? " majority-of-\(k) % |" : "")
                + " training examples | chosen answer correct | kept epoch |",
            "|---|---|---|" + (majority ? "---|" : "") + "---|---|---|",
        ]
        for row in rows {
            let name = row.round == 0 ? "M0 (seed model)" : "\(row.mode) M\(row.round)"
            let pairs = row.pairs.map { String(format: "%.0f", $0) } ?? ""
            let precision = row.pairPrecision.map { String(format: "%.1f %%", $0 * 100) } ?? ""
            let epochs = row.keptEpochs.map(String.init).joined(separator: ", ")
            lines.append(
                "| \(name) | \(row.greedy.seeds) | \(percent(row.greedy)) |" + (majority ? " \(percent(row.majority)) |" : "")
                    + " \(pairs) | \(precision) | \(epochs) |")
        }
        lines += ["", "| paired difference (greedy) | seeds | points |", "|---|---|---|"]
        for d in differences { lines.append("| \(d.label) | \(d.greedy.seeds) | \(points(d.greedy)) |") }
        return lines.joined(separator: "\n") + "\n"
    }
}
