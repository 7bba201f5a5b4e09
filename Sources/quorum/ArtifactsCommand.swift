import ArgumentParser
import QuorumPipeline

/// `quorum artifacts …`: the model artifacts stored in PostgreSQL.
struct ArtifactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts", abstract: "List stored model artifacts, or delete those nothing refers to.",
        subcommands: [List.self, GC.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every artifact, its size and its references.")
        @OptionGroup var endpoints: EndpointOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let store = PostgresArtifactStore(client: endpoints.database)
            let listings = try await store.list()
            if json { try printJSON(["artifacts": listings]) } else { for listing in listings { print(listing.line) } }
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Delete artifacts no pipeline checkpoint or experiment model refers to (older than an hour).")
        @OptionGroup var endpoints: EndpointOptions
        @Option(help: "Spare artifacts younger than this many seconds (uploads in progress).") var minimumAge = 3600

        func run() async throws {
            let store = PostgresArtifactStore(client: endpoints.database)
            let freed = try await store.collectGarbage(minimumAge: .seconds(minimumAge))
            print("deleted \(freed.artifacts) artifacts (\(freed.bytes) bytes)")
        }
    }
}
