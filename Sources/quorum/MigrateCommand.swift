import ArgumentParser
import Foundation
import QuorumStack
import QuorumStore
import QuorumPipeline

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the SQL migrations (migrations/NNNN_name.sql) that the database does not have yet.",
        discussion: """
            Runs under a PostgreSQL advisory lock, so concurrent runs are safe; each migration and its record in \
            schema_migrations commit together. Running it again is a no-op; an applied file that was edited is an error.
            """)

    @OptionGroup var endpoints: EndpointOptions

    @Option(help: "The folder of migration files (default: migrations/ of this checkout).")
    var migrations: String?

    @Flag(help: "Print the outcome as JSON.") var json = false

    func run() async throws {
        let folder = migrations ?? Migration.checkoutFolder
        let loaded = try Migration.load(from: folder)
        let url = Endpoints.resolve(postgresURL: endpoints.postgresURL).postgresURL
        let outcomes = try await PostgresClient(url: url, reconnectDeadline: 0).withConnection { connection in
            try Migrator.migrate(connection, migrations: loaded)
        }
        if json {
            try printJSON(MigrateReport(database: url, migrations: outcomes))
        } else {
            for outcome in outcomes {
                print("\(String(format: "%04d", outcome.version))_\(outcome.name): \(outcome.status)")
            }
            print("\(outcomes.filter { $0.status == "applied" }.count) applied, \(outcomes.count) in total")
        }
    }
}

private struct MigrateReport: Encodable {
    var database: String
    var migrations: [MigrationOutcome]
}
