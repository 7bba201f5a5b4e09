import ArgumentParser
import QuorumPipeline

/// `quorum pipeline …`: the registered pipelines' life cycle.
struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "List registered pipelines, add rounds, make a failed round run again, or delete a pipeline.",
        subcommands: [List.self, Extend.self, ResetRound.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every registered pipeline and its rounds.")
        @OptionGroup var endpoints: EndpointOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let database = endpoints.database
            let pipelines = try await PipelineListing.load(database: database)
            if json { try printJSON(["pipelines": pipelines]) } else { for pipeline in pipelines { print(pipeline.line) } }
        }
    }

    struct Extend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a pipeline's number of rounds (iterate SCPO further on a finished pipeline).",
            discussion: """
                Then `quorum manager --pipeline NAME` (or `quorum run` with the spec file, its rounds changed \
                the same way) runs the new rounds from the last model. Rounds that exist cannot be dropped.
                """)
        @OptionGroup var endpoints: EndpointOptions
        @Argument(help: "The pipeline's name.") var pipeline: String
        @Option(help: "The pipeline's rounds from now on.") var rounds: Int

        func run() async throws {
            let database = endpoints.database
            var spec = try await PipelineSpec.registered(pipeline, database: database)
            let before = spec.rounds
            spec.rounds = rounds
            try await RoundManager(spec: spec, database: database).register()
            print("pipeline \(pipeline): \(before) → \(rounds) rounds; `quorum manager --pipeline \(pipeline)` runs them")
        }
    }

    struct ResetRound: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-round",
            abstract: "Make a failed round runnable again (its votes and pairs are kept).",
            discussion: """
                The round goes back to training when every problem has its vote record, else to sampling. Then \
                `quorum run` (or `quorum manager`) continues from there.
                """)
        @OptionGroup var endpoints: EndpointOptions
        @Argument(help: "The pipeline's name.") var pipeline: String
        @Argument(help: "The failed round.") var round: Int

        func run() async throws {
            let database = endpoints.database
            let spec = try await PipelineSpec.registered(pipeline, database: database)
            let state = try await RoundManager(spec: spec, database: database).resetFailedRound(round)
            print("round \(round) of \(pipeline) is \(state.rawValue) again; `quorum run` continues it")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a pipeline and everything it recorded (model artifacts stay).")
        @OptionGroup var endpoints: EndpointOptions
        @Argument(help: "The pipeline's name.") var pipeline: String
        @Flag(help: "Really delete (without it, nothing is changed).") var yes = false

        func run() async throws {
            guard yes else { throw CommandFailure("deleting \(pipeline) cannot be undone; add --yes to go ahead") }
            let database = endpoints.database
            let spec = try await PipelineSpec.registered(pipeline, database: database)
            try await RoundManager(spec: spec, database: database).delete()
            print("deleted pipeline \(pipeline) (its Kafka topics \(spec.tasksTopic) and \(spec.votesTopic) remain)")
        }
    }
}
