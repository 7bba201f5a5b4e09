import Foundation
import QuorumExperiments
import QuorumPipeline
import QuorumStore
import Testing

/// The experiment runner against the real PostgreSQL server: results stored as they finish, and a
/// run stopped in the middle resumes without recomputing or losing anything.
@Suite struct ExperimentTests {
    /// A seed model that trains in seconds (one-step problems, a 2-layer width-64 model).
    static let seedConfig = """
        {"train_count": 8, "min_steps": 1, "max_steps": 1, "max_number": 10, "vocab_size": 320, "layers": 2,
         "hidden": 64, "heads": 4, "kv_heads": 2, "intermediate": 128, "max_positions": 160, "steps": 40,
         "batch": 4, "lr": 0.003, "min_lr": 0.0003, "warmup": 5, "eval_every": 0, "dev_count": 0}
        """

    /// Two seeds, two modes, two rounds, tiny sizes: 2 × (M0 + 4 models) models, 2 × (1 + 2) samplings.
    static func spec(seedModel: String) -> String {
        """
        name: resume-test
        seeds: [1, 2]
        seed_model: \(seedModel)
        problems: { min_steps: 1, max_steps: 1, max_number: 10 }
        unlabeled: { count: 6, data_seed: 2, fresh_each_round: true }
        dev: { count: 0, seed: 7 }
        test: { count: 8, seed: 1 }
        serving_format: w8a8
        sampling: { k: 4, max_new_tokens: 24 }
        tau: [0.25]
        rounds: 2
        modes: [scpo, lmsi]
        trainer: { epochs: 1, lr: 0.001, batch: 4, micro_batch: 4 }
        evaluation_k: 2
        """
    }

    @Test func aStoppedRunResumesWithoutRecomputingOrLosingAnything() async throws {
        try await TestStack.withMigratedDatabase { url in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("experiment"))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let configPath = folder.appendingPathComponent("seed.json").path
            try Data(Self.seedConfig.utf8).write(to: URL(fileURLWithPath: configPath))
            let spec = try ExperimentSpec.parse(Self.spec(seedModel: configPath))
            let database = PostgresClient(url: url)
            func runner(_ steps: Collector<String>, stopAfter: Int?) -> ExperimentRunner {
                var runner = ExperimentRunner(
                    spec: spec, store: ExperimentStore(database: database, experiment: spec.name),
                    artifacts: ModelArtifacts(store: PostgresArtifactStore(client: database)),
                    // Each run gets its own cache: the second must rebuild what it needs from the database.
                    workDirectory: folder.appendingPathComponent(TestStack.unique("cache")).path)
                runner.stepStored = { step in
                    steps.append(step)
                    if let stopAfter, steps.values.count >= stopAfter { throw CancellationError() }
                }
                return runner
            }

            // Every step: per seed M0, its evaluation, round 1's samples (shared), then per mode and
            // round a model and its evaluation, and round 2's samples per mode.
            let expected = 2 * (3 + 2 * 2 * 2 + 2)
            let first = Collector<String>()
            await #expect(throws: CancellationError.self) { try await runner(first, stopAfter: 9).run() }
            #expect(first.values.count == 9)

            let second = Collector<String>()
            try await runner(second, stopAfter: nil).run()
            #expect(Set(first.values).isDisjoint(with: second.values), "a stored step was computed again")
            #expect(first.values.count + second.values.count == expected)

            let store = ExperimentStore(database: database, experiment: spec.name)
            let models = try await store.models()
            #expect(models.count == 2 * 5)
            let evaluations = try await store.evaluations()
            #expect(evaluations.count == 2 * 5)
            #expect(evaluations.allSatisfy { $0.greedy.count == 8 && $0.majority.count == 8 && $0.format == "w8a8" })

            // A third run finds everything stored and does nothing.
            let third = Collector<String>()
            try await runner(third, stopAfter: nil).run()
            #expect(third.values.isEmpty)

            let report = try await ExperimentReport.load(database: database, experiment: spec.name)
            #expect(report.table.rows.count == 1 + 2 * 2)
            #expect(report.times.map(\.seed) == [1, 2])
            // The command prints the same table in the JSON convention.
            let printed = try JSONOutputTests.checked(["experiment", "table", spec.name, "--postgres-url", url, "--json"])
            #expect(((printed["table"] as? [String: Any])?["rows"] as? [Any])?.count == 1 + 2 * 2)

            // The same name with another spec is refused.
            let other = try ExperimentSpec.parse(Self.spec(seedModel: configPath).replacingOccurrences(
                of: "rounds: 2", with: "rounds: 1"))
            let refused = ExperimentRunner(
                spec: other, store: ExperimentStore(database: database, experiment: other.name),
                artifacts: ModelArtifacts(store: PostgresArtifactStore(client: database)),
                workDirectory: folder.path)
            await #expect(throws: ExperimentError.self) { try await refused.run() }
        }
    }
}
