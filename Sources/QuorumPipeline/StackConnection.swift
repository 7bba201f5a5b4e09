import Foundation
import QuorumKafka
public import QuorumStack
public import QuorumStore

/// How a command reaches PostgreSQL and Kafka: the endpoints it was given (flags, a spec, or
/// `QUORUM_POSTGRES_URL` / `QUORUM_KAFKA_BROKERS`), else the embedded stack, started if it is down;
/// either way the database is migrated before it is used.
public enum StackConnection {
    /// Resolves the endpoints, starts the embedded stack when none were given, and migrates the database.
    ///
    /// - Throws: ``RoundError`` when the embedded stack does not come up; the migrator's errors.
    public static func connect(postgresURL: String?, kafkaBrokers: String? = nil) async throws -> (
        database: PostgresClient, endpoints: Endpoints
    ) {
        let environment = ProcessInfo.processInfo.environment
        let given = [postgresURL, kafkaBrokers, environment["QUORUM_POSTGRES_URL"], environment["QUORUM_KAFKA_BROKERS"]]
        if given.allSatisfy({ ($0 ?? "").isEmpty }) {
            guard try LocalStack().up().healthy else {
                throw RoundError(message: "the embedded stack did not come up; see `quorum stack status`")
            }
        }
        let endpoints = Endpoints.resolve(postgresURL: postgresURL, kafkaBrokers: kafkaBrokers)
        let database = PostgresClient(url: endpoints.postgresURL)
        let migrations = try Migration.load(from: Migration.checkoutFolder)
        _ = try await database.withConnection { try Migrator.migrate($0, migrations: migrations) }
        return (database, endpoints)
    }
}

extension Migration {
    /// `migrations/` beside the `.quorum` folder (the checkout), else in the working directory.
    public static var checkoutFolder: String {
        let home = QuorumHome.locate().path
        let beside = URL(fileURLWithPath: home).deletingLastPathComponent().appendingPathComponent("migrations").path
        return FileManager.default.fileExists(atPath: beside) ? beside : "migrations"
    }
}

extension PipelineRunner {
    /// The runner `quorum run` and `quorum manager` share: connected (see ``StackConnection``), the
    /// pipeline registered and M0 published. `postgresURL` and `kafkaBrokers` override the spec's.
    public static func prepared(
        spec: PipelineSpec, postgresURL: String?, kafkaBrokers: String?, kafkaProperties: [String: String] = [:],
        workDirectory: String?, log: @escaping @Sendable (String) -> Void
    ) async throws -> (runner: PipelineRunner, endpoints: Endpoints) {
        let (database, endpoints) = try await StackConnection.connect(
            postgresURL: postgresURL ?? spec.postgresURL, kafkaBrokers: kafkaBrokers ?? spec.kafkaBrokers)
        var runner = try PipelineRunner(
            spec: spec, database: database,
            kafka: spec.kafkaConfiguration(brokers: endpoints.kafkaBrokers, extra: kafkaProperties),
            stages: .standard(spec: spec), workDirectory: workDirectory ?? QuorumHome.locate().path + "/runs")
        runner.log = log
        try await runner.prepare()
        return (runner, endpoints)
    }
}
