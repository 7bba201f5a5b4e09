import Foundation
import QuorumKafka
import QuorumStack
import QuorumStore
import Testing

/// The servers the integration tests use: the embedded stack (started by ops/test.sh), or whatever
/// QUORUM_POSTGRES_URL / QUORUM_KAFKA_BROKERS name.
enum TestStack {
    static let endpoints = Endpoints.resolve()

    static var kafka: KafkaConfiguration { KafkaConfiguration(bootstrapServers: endpoints.kafkaBrokers) }

    /// A name no other test (or earlier run) uses.
    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A fresh database for one test, dropped by `body`'s end; returns its URL to `body`.
    static func withScratchDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let name = unique("quorum_test").replacingOccurrences(of: "-", with: "_")
        let admin = try PostgresConnection(url: endpoints.postgresURL)
        try admin.execute("CREATE DATABASE \(identifier: name)")
        defer { _ = try? admin.execute("DROP DATABASE \(identifier: name) WITH (FORCE)") }
        var components = URLComponents(string: endpoints.postgresURL)!
        components.path = "/" + name
        return try await body(components.string!)
    }

    /// The repository's root (where Package.swift is).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The `quorum` executable built beside this test bundle.
    static var quorumExecutable: String {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("quorum").path
    }

    /// Runs the `quorum` executable; returns its exit status and everything it printed.
    /// Runs the built `quorum`; `output` holds standard output and standard error together, unless
    /// `separateErrors` keeps standard error out of it (for output that must parse).
    static func runQuorum(_ arguments: [String], environment: [String: String] = [:], separateErrors: Bool = false)
        throws -> (status: Int32, output: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: quorumExecutable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(unique("quorum-out"))
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = handle
        process.standardError = separateErrors ? FileHandle.nullDevice : handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8))
    }
}

/// Collects values from concurrent tasks.
final class Collector<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Value] = []

    func append(_ value: Value) { lock.withLock { storage.append(value) } }
    var values: [Value] { lock.withLock { storage } }
}

extension TestStack {
    /// A fresh database with every migration applied.
    static func withMigratedDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        try await withScratchDatabase { url in
            let db = try PostgresConnection(url: url)
            _ = try Migrator.migrate(
                db, migrations: try Migration.load(from: repositoryRoot.appendingPathComponent("migrations").path))
            return try await body(url)
        }
    }
}
