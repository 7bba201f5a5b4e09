import Foundation
import QuorumPipeline
import SCPO
public import QuorumStore

/// An experiment's table with the time each seed took, read from PostgreSQL.
public struct ExperimentReport: Sendable, Codable {
    /// Where one seed's time went, in seconds.
    public struct SeedTime: Sendable, Codable, Equatable {
        public var seed: Int
        /// Training (or importing) M0.
        public var seedModel: Double
        /// Sampling the unlabeled problems.
        public var sampling: Double
        /// SCPO (and baseline) rounds, reference scoring and dev evaluation included.
        public var training: Double
        /// Held-out evaluations.
        public var evaluation: Double

        /// All of it.
        public var total: Double { seedModel + sampling + training + evaluation }

        enum CodingKeys: String, CodingKey {
            case seed, seedModel = "seed_model", sampling, training, evaluation
        }
    }

    /// The table.
    public var table: ExperimentTable
    /// Time per seed.
    public var times: [SeedTime]

    /// Reads experiment `experiment`'s results.
    ///
    /// - Throws: ``ExperimentError`` when there is no such experiment.
    public static func load(database: PostgresClient, experiment: String) async throws -> ExperimentReport {
        let store = ExperimentStore(database: database, experiment: experiment)
        guard let specJSON = try await store.specJSON() else {
            throw ExperimentError("there is no experiment \"\(experiment)\"; start it with `quorum experiment run SPEC`")
        }
        let spec = try JSONDecoder().decode(ExperimentSpec.self, from: Data(specJSON.utf8))
        let evaluations = try await store.evaluations()
        let models = try await store.models()
        let sampling = try await store.samplingSeconds()
        let table = ExperimentTable(
            experiment: experiment, modes: spec.modes.map(\.rawValue), evaluations: evaluations, models: models)
        let seeds = Set(models.map(\.key.seed)).sorted()
        let times = seeds.map { seed in
            SeedTime(
                seed: seed,
                seedModel: models.filter { $0.key == .seedModel(seed) }.map(\.seconds).reduce(0, +),
                sampling: sampling[seed] ?? 0,
                training: models.filter { $0.key.seed == seed && $0.key.round > 0 }.map(\.seconds).reduce(0, +),
                evaluation: evaluations.filter { $0.key.seed == seed }.map(\.seconds).reduce(0, +))
        }
        return ExperimentReport(table: table, times: times)
    }

    /// The table, then the time per seed, as Markdown.
    public var markdown: String {
        func minutes(_ seconds: Double) -> String { String(format: "%.1f", seconds / 60) }
        var lines = [table.markdown, "| seed | M0 training min | sampling min | training min | evaluation min | total min |"]
        lines.append("|---|---|---|---|---|---|")
        for t in times {
            lines.append(
                "| \(t.seed) | \(minutes(t.seedModel)) | \(minutes(t.sampling)) | \(minutes(t.training)) | "
                    + "\(minutes(t.evaluation)) | \(minutes(t.total)) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
