import ArgumentParser
import CQuantKernels
import Foundation
import QuorumLogging
import QuorumKafka
import QuorumStack
import QuorumStore

@main
struct Quorum: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quorum",
        abstract: "Self-consistency preference data generation and SCPO training.",
        discussion: """
            Every command that needs PostgreSQL or Kafka uses the embedded stack (`quorum stack up`) unless \
            QUORUM_POSTGRES_URL / QUORUM_KAFKA_BROKERS or the --postgres-url / --kafka-brokers flags point elsewhere. \
            Every command takes --log-format text|json and --log-level trace|debug|info|notice|warning|error|critical \
            (or QUORUM_LOG_FORMAT / QUORUM_LOG_LEVEL); log lines go to standard error, and those of `quorum run`'s \
            workers and sink to .quorum/logs/NAME.log, rotated at 10 MiB.
            """,
        subcommands: [
            StackCommand.self, MigrateCommand.self, WorkerCommand.self, SinkCommand.self, StatusCommand.self,
            RunCommand.self, ManagerCommand.self, PipelineCommand.self, ArtifactsCommand.self, RoundsCommand.self,
            DashboardCommand.self,
            PairsCommand.self,
            TaskCommand.self,
            TokenizerCommand.self, TrainCommand.self, EvalCommand.self, VoteCommand.self, CkptCommand.self,
            QuantizeCommand.self,
            BenchCommand.self,
            ExportCommand.self,
            ExperimentCommand.self,
        ])

    static func main() async {
        // The numeric targets are compiled for AVX2/FMA/F16C: on a CPU without them, say so instead
        // of dying on an illegal instruction later.
        if let missing = cqk_missing_cpu_feature() {
            FileHandle.standardError.write(
                Data(
                    ("error: this quorum was built for CPUs with AVX2, FMA and F16C, and this one lacks "
                        + "\(String(cString: missing)); build a portable one with `QUORUM_PORTABLE=1 swift build`\n").utf8))
            Foundation.exit(1)
        }
        // librdkafka older than 2.2 cannot talk to current brokers: refuse to start rather than hang later.
        do {
            try Librdkafka.check()
        } catch {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(1)
        }
        // --log-format and --log-level apply to every command (and to `quorum run`'s children, through
        // the environment), so they are taken out before the subcommand is parsed.
        var arguments = Array(CommandLine.arguments.dropFirst())
        for (flag, variable) in [("--log-format", "QUORUM_LOG_FORMAT"), ("--log-level", "QUORUM_LOG_LEVEL")] {
            while let index = arguments.firstIndex(where: { $0 == flag || $0.hasPrefix(flag + "=") }) {
                let value: String
                if arguments[index].contains("=") {
                    value = String(arguments[index].split(separator: "=", maxSplits: 1)[1])
                    arguments.remove(at: index)
                } else if index + 1 < arguments.count {
                    value = arguments[index + 1]
                    arguments.removeSubrange(index...(index + 1))
                } else {
                    FileHandle.standardError.write(Data("error: \(flag) needs a value\n".utf8))
                    Foundation.exit(64)
                }
                setenv(variable, value, 1)
            }
        }
        QuorumLogging.bootstrap()
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// The `--postgres-url` and `--kafka-brokers` flags every command that talks to the stack takes.
struct EndpointOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (default: $QUORUM_POSTGRES_URL, else the embedded stack).")
    var postgresURL: String?

    @Option(help: "Kafka bootstrap brokers (default: $QUORUM_KAFKA_BROKERS, else the embedded stack).")
    var kafkaBrokers: String?

    @Option(
        name: .customLong("kafka-property"),
        help: "A librdkafka property KEY=VALUE for this process (repeatable; after the spec's kafka.properties).")
    var kafkaPropertyFlags: [String] = []

    /// The `--kafka-property` flags as librdkafka properties.
    var kafkaProperties: [String: String] {
        get throws { try KafkaConfiguration.properties(parsing: kafkaPropertyFlags) }
    }

    /// The endpoints these flags name (else the environment's, else the embedded stack's).
    var resolved: Endpoints { Endpoints.resolve(postgresURL: postgresURL, kafkaBrokers: kafkaBrokers) }

    /// A client of the PostgreSQL server they name.
    var database: PostgresClient { PostgresClient(url: resolved.postgresURL) }

    /// The flags to hand a child process so that it reaches the same servers the same way.
    var forwardedKafkaFlags: [String] { kafkaPropertyFlags.flatMap { ["--kafka-property", $0] } }
}

/// The version of every `--json` output's shape; raised when a key is renamed or removed.
let jsonSchemaVersion = 1

/// Prints a command's `--json` output: one object with snake_case keys, sorted, and `schema_version`.
/// A list goes under a key that names it (`printJSON(["rounds": rounds])`).
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    print(String(decoding: try encoder.encode(Versioned(value: value)), as: UTF8.self))
}

/// A bare list has no room for `schema_version`: name it.
@available(*, unavailable, message: "name the list: printJSON([\"rounds\": rows])")
func printJSON<Element: Encodable>(_ value: [Element]) throws {}

/// A JSON object with `schema_version` beside the value's own keys.
private struct Versioned<Value: Encodable>: Encodable {
    let value: Value
    private enum Key: String, CodingKey { case schemaVersion }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(jsonSchemaVersion, forKey: .schemaVersion)
    }
}

/// A command's failure: what is wrong and what to do, printed as `Error: <message>` without usage text.
struct CommandFailure: Error, CustomStringConvertible {
    /// The message shown to the user.
    let description: String

    init(_ description: String) { self.description = description }
}
