import ArgumentParser
import QuorumBench
import QuorumStack

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print JSON, to rerun and compare side by side.",
        subcommands: [
            BenchKafka.self, BenchPostgres.self, BenchNeuZipCommand.self, BenchTrainCommand.self,
            BenchQuantCommand.self, BenchSampleCommand.self,
        ])
}

/// `quorum bench kafka`: ``KafkaBenchmark``.
struct BenchKafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Produce and consume keyed 1 KiB messages through the real broker; messages/s and MB/s.")

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "Messages to send.") var messages = 20_000
    @Option(help: "Payload bytes per message.") var size = 1024
    @Option(help: "Partitions of the benchmark topic.") var partitions = 4
    @Option(help: "Sends in flight at once.") var window = 2_000
    @Flag(help: "Print JSON (the default output is JSON as well).") var json = false

    func run() async throws {
        var benchmark = KafkaBenchmark(brokers: Endpoints.resolve(kafkaBrokers: endpoints.kafkaBrokers).kafkaBrokers)
        benchmark.messages = messages
        benchmark.messageBytes = size
        benchmark.partitions = partitions
        benchmark.window = window
        try printJSON(try await benchmark.run())
    }
}

/// `quorum bench postgres`: ``PostgresBenchmark``.
struct BenchPostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract:
            "Rows/s inserting into PostgreSQL: one statement per row vs multi-row INSERT vs COPY, in transactions.")

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "Rows per method.") var rows = 20_000
    @Flag(help: "Print JSON (the default output is JSON as well).") var json = false

    func run() async throws {
        var benchmark = PostgresBenchmark(
            databaseURL: Endpoints.resolve(postgresURL: endpoints.postgresURL).postgresURL)
        benchmark.rows = rows
        try printJSON(try await benchmark.run())
    }
}
