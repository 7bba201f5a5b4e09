import ArgumentParser
import Foundation
import QuorumKafka
import QuorumStack
import QuorumStore

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print JSON, to rerun and compare side by side.",
        subcommands: [
            BenchKafka.self, BenchPostgres.self, BenchNeuZipCommand.self, BenchTrainCommand.self,
            BenchQuantCommand.self, BenchSampleCommand.self,
        ])
}

/// Seconds since `start`.
func elapsed(since start: ContinuousClock.Instant) -> Double {
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

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
        let kafka = KafkaConfiguration(
            bootstrapServers: Endpoints.resolve(kafkaBrokers: endpoints.kafkaBrokers).kafkaBrokers)
        let topic = "quorum.bench.\(UInt32.random(in: 0...UInt32.max))"
        let admin = try KafkaAdmin(configuration: kafka)
        try await admin.createTopic(topic, partitions: partitions)
        defer { Task { [admin] in try? await admin.deleteTopic(topic) } }

        let payload = [UInt8](repeating: 0x61, count: size)
        let producer = try KafkaProducer(configuration: kafka)
        let produceStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<messages {
                if index >= window { try await group.next() }
                group.addTask {
                    try await producer.send(topic: topic, key: Array("problem-\(index)".utf8), value: payload)
                }
            }
            try await group.waitForAll()
        }
        let produceSeconds = elapsed(since: produceStart)
        await producer.close()

        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: "\(topic).reader")
        configuration.autoOffsetReset = "earliest"
        let consumer = try KafkaConsumer(configuration: configuration, topics: [topic])
        var received = 0
        var consumeStart: ContinuousClock.Instant?
        for try await _ in consumer.messages {
            if consumeStart == nil { consumeStart = .now }  // exclude the group join from the rate
            received += 1
            if received == messages { break }
        }
        let consumeSeconds = consumeStart.map { elapsed(since: $0) } ?? 0
        await consumer.close()

        let megabytes = Double(messages * size) / 1_000_000
        try printJSON(
            KafkaBenchReport(
                brokers: kafka.bootstrapServers, librdkafka: Librdkafka.runtimeVersionString, messages: messages,
                messageBytes: size, partitions: partitions,
                produce: .init(
                    seconds: produceSeconds, messagesPerSecond: Double(messages) / produceSeconds,
                    megabytesPerSecond: megabytes / produceSeconds),
                consume: .init(
                    seconds: consumeSeconds, messagesPerSecond: Double(received) / max(consumeSeconds, 1e-9),
                    megabytesPerSecond: megabytes / max(consumeSeconds, 1e-9))))
    }
}

private struct KafkaBenchReport: Encodable {
    struct Rate: Encodable {
        var seconds: Double
        var messagesPerSecond: Double
        var megabytesPerSecond: Double
    }
    var brokers: String
    var librdkafka: String
    var messages: Int
    var messageBytes: Int
    var partitions: Int
    var produce: Rate
    var consume: Rate
}

struct BenchPostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract:
            "Rows/s inserting into PostgreSQL: one statement per row vs multi-row INSERT vs COPY, in transactions.")

    @OptionGroup var endpoints: EndpointOptions
    @Option(help: "Rows per method.") var rows = 20_000
    @Flag(help: "Print JSON (the default output is JSON as well).") var json = false

    func run() async throws {
        let url = Endpoints.resolve(postgresURL: endpoints.postgresURL).postgresURL
        let client = PostgresClient(url: url, reconnectDeadline: 0)
        let count = rows
        let results = try await client.withConnection { connection in
            try connection.executeScript(
                "CREATE TEMP TABLE bench_rows (id bigint, problem text, weight double precision, payload bytea)")
            let payload = PostgresBytes([UInt8](repeating: 7, count: 64))
            func timed(_ name: String, _ body: () throws -> Void) throws -> PostgresBenchReport.Method {
                try connection.executeScript("TRUNCATE bench_rows")
                let start = ContinuousClock.now
                try connection.withTransaction { _ in try body() }
                let seconds = elapsed(since: start)
                return .init(method: name, rows: count, seconds: seconds, rowsPerSecond: Double(count) / seconds)
            }
            let single = try timed("single-row INSERT") {
                for id in 0..<count {
                    try connection.execute(
                        "INSERT INTO bench_rows VALUES (\(id), \("problem-\(id)"), \(Double(id) / 7), \(payload))")
                }
            }
            let batched = try timed("multi-row INSERT (500 rows per statement)") {
                for start in stride(from: 0, to: count, by: 500) {
                    var sql = "INSERT INTO bench_rows VALUES "
                    var bindings: [PostgresValue] = []
                    for id in start..<min(start + 500, count) {
                        let base = bindings.count
                        sql += (id == start ? "" : ", ") + "($\(base + 1), $\(base + 2), $\(base + 3), $\(base + 4))"
                        bindings += [
                            id.postgresValue, "problem-\(id)".postgresValue, (Double(id) / 7).postgresValue,
                            payload.postgresValue,
                        ]
                    }
                    try connection.execute(PostgresQuery(unsafeSQL: sql, bindings: bindings))
                }
            }
            let copy = try timed("COPY") {
                let values = (0..<count).map { id -> [PostgresValue] in
                    [
                        id.postgresValue, "problem-\(id)".postgresValue, (Double(id) / 7).postgresValue,
                        payload.postgresValue,
                    ]
                }
                try connection.copy(into: "bench_rows", columns: ["id", "problem", "weight", "payload"], rows: values)
            }
            let stored = try connection.query("SELECT count(*) FROM bench_rows")[0].decode(Int.self, at: 0)
            guard stored == count else { throw ValidationError("COPY stored \(stored) rows, expected \(count)") }
            return [single, batched, copy]
        }
        try printJSON(
            PostgresBenchReport(
                database: url, methods: results,
                copyOverSingleRow: results[2].rowsPerSecond / results[0].rowsPerSecond))
    }
}

private struct PostgresBenchReport: Encodable {
    struct Method: Encodable {
        var method: String
        var rows: Int
        var seconds: Double
        var rowsPerSecond: Double
    }
    var database: String
    var methods: [Method]
    var copyOverSingleRow: Double
}
