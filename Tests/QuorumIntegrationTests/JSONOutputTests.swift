import Foundation
import Testing

/// Every `--json` output follows one convention: a single object, snake_case keys at every level, and
/// `schema_version`. The commands that need no pipeline run here; `rounds`, `status`, `pipeline list`
/// and `artifacts list` are read the same way by the crash and life-cycle tests.
@Suite("JSON outputs")
struct JSONOutputTests {
    static let model = TestStack.repositoryRoot.appendingPathComponent("Tests/QuorumIntegrationTests/Fixtures/tiny-arith").path

    /// Runs `quorum` with `arguments` and checks the convention on what it printed.
    @discardableResult
    static func checked(_ arguments: [String]) throws -> [String: Any] {
        let (status, output) = try TestStack.runQuorum(arguments, separateErrors: true)
        try #require(status == 0, "quorum \(arguments.joined(separator: " ")) failed: \(output)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
            "not one JSON object: \(output)")
        #expect(object["schema_version"] as? Int == 1, "\(arguments[0]): no schema_version")
        let offending = keys(of: object).filter { $0.range(of: "^[a-z0-9_]+$", options: .regularExpression) == nil }
        #expect(offending.isEmpty, "\(arguments.prefix(2).joined(separator: " ")): keys not in snake_case: \(offending)")
        return object
    }

    /// Every key of every object inside `value`.
    static func keys(of value: Any) -> Set<String> {
        if let object = value as? [String: Any] {
            return object.reduce(into: Set(object.keys)) { $0.formUnion(keys(of: $1.value)) }
        }
        if let array = value as? [Any] { return array.reduce(into: []) { $0.formUnion(keys(of: $1)) } }
        return []
    }

    @Test func stackAndMigrations() throws {
        let stack = try Self.checked(["stack", "status", "--json"])
        #expect((stack["postgres"] as? [String: Any])?["healthy"] as? Bool == true)
        try Self.checked(["migrate", "--json"])
        // Benchmarks print the same convention (tiny sizes: the shape is what is checked here).
        let kafka = try Self.checked(["bench", "kafka", "--messages", "200", "--size", "64", "--json"])
        #expect(kafka["consume"] is [String: Any])
        let quant = try Self.checked([
            "bench", "quant", "--shapes", "64x64", "--tokens", "1", "--formats", "w8a8", "--seconds", "0.05", "--json",
        ])
        #expect((quant["results"] as? [Any])?.isEmpty == false)
    }

    @Test func listings() async throws {
        try await TestStack.withMigratedDatabase { url in
            let pipelines = try Self.checked(["pipeline", "list", "--postgres-url", url, "--json"])
            #expect(pipelines["pipelines"] is [Any])
            let artifacts = try Self.checked(["artifacts", "list", "--postgres-url", url, "--json"])
            #expect(artifacts["artifacts"] is [Any])
        }
    }

    @Test func modelCommands() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("json"))
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let evaluation = try Self.checked([
            "eval", "--model", Self.model, "--count", "6", "--k", "2", "--max-new-tokens", "24", "--json",
        ])
        #expect((evaluation["result"] as? [String: Any])?["greedy_accuracy"] != nil)

        let checkpoint = scratch.appendingPathComponent("m.nzck").path
        try Self.checked(["ckpt", "compress", "--in", Self.model, "--out", checkpoint, "--json"])
        try Self.checked(["ckpt", "inspect", checkpoint, "--json"])
        try Self.checked([
            "quantize", "--model", Self.model, "--format", "w8a8", "--out", scratch.appendingPathComponent("q").path,
            "--json",
        ])

        let samples = scratch.appendingPathComponent("samples.jsonl")
        try Self.checked([
            "task", "sample", "--model", Self.model, "--count", "4", "--k", "3", "--max-new-tokens", "24", "--out",
            samples.path, "--json",
        ])
        let vote = try Self.checked(["vote", "--samples", samples.path, "--json"])
        #expect(vote["problems"] != nil)
    }
}
