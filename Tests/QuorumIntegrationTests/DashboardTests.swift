import Foundation
import QuorumStore
import Testing

/// `quorum dashboard` in a real browser (Debian's chromium, headless) during a real pipeline run: the
/// page's own script must have drawn the rounds table, one accuracy point per evaluated model, and
/// progress that moves between two reads.
@Suite("The dashboard in a browser", .serialized)
struct DashboardTests {
    /// The DOM after the page's script ran for a few seconds of virtual time.
    static func renderedPage(_ url: String) throws -> String {
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "chromium is not installed (ops/setup.sh installs it)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=4000", "--dump-dom", url,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Occurrences of `needle` in `text`.
    static func count(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// The votes cell of model M`round` in the rendered rounds table ("12/400").
    static func votes(round: Int, in page: String) -> String? {
        guard let row = page.range(of: "<td>M\(round)</td>") else { return nil }
        let rest = page[row.upperBound...]
        guard let cell = rest.range(of: "class=\"votes\">"), let end = rest[cell.upperBound...].range(of: "</td>")
        else { return nil }
        let text = rest[cell.upperBound..<end.lowerBound]
        return text.split(separator: " ").last.map(String.init)
    }

    @Test func showsARunningPipelineAndItsProgress() async throws {
        try await TestStack.withMigratedDatabase { url in
            let name = TestStack.unique("dash").lowercased()
            let spec = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
            try CrashTests.spec(name: name, problems: 400, rounds: 1).write(to: spec, atomically: true, encoding: .utf8)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent(name)
            defer {
                try? FileManager.default.removeItem(at: spec)
                try? FileManager.default.removeItem(at: work)
            }
            let endpoints = ["--postgres-url", url, "--kafka-brokers", TestStack.endpoints.kafkaBrokers]
            // No workers at first: the round waits at 0 votes until the test starts one, so the two reads
            // differ however slow the machine (and the browser) is.
            let run = try QuorumProcess(["run", spec.path, "--workers", "0", "--work-directory", work.path] + endpoints)
            defer { run.kill(SIGKILL) }
            let dashboard = try QuorumProcess(["dashboard", "--port", "0", "--postgres-url", url])
            defer { dashboard.kill(SIGTERM) }
            let listening = try await waitFor(seconds: 30) { dashboard.output.contains("[dashboard] http://") }
            try #require(listening, "the dashboard did not start: \(dashboard.output)")
            let line = try #require(dashboard.output.split(separator: "\n").first { $0.contains("[dashboard] http://") })
            let page = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }).description

            let database = PostgresClient(url: url)
            let sampling = try await waitFor(seconds: 180) {
                try await database.query(
                    "SELECT state FROM rounds WHERE pipeline = \(name) AND number = 1"
                ).first?.decode(String.self, at: 0) == "sampling"
            }
            try #require(sampling, "round 1 never started: \(run.output)")
            let first = try Self.renderedPage(page)

            let worker = try QuorumProcess(["worker", "--pipeline", name, "--name", "worker-0"] + endpoints)
            defer { worker.kill(SIGKILL) }
            let voting = try await waitFor(seconds: 180) {
                try await CrashTests.voted(database: database, pipeline: name, round: 1) >= 8
            }
            try #require(voting, "the worker stored no votes: \(worker.output)")
            let second = try Self.renderedPage(page)

            #expect(first.contains("id=\"rounds-\(name)\""), "no rounds table in: \(first.prefix(2000))")
            // M0 was evaluated before round 1 started: one greedy point per evaluated model.
            let evaluated = try await database.query(
                "SELECT count(*) FROM evaluations WHERE pipeline = \(name)")[0].decode(Int.self, at: 0)
            #expect(evaluated >= 1)
            #expect(Self.count("class=\"point greedy\"", in: second) == evaluated)
            let before = try #require(Self.votes(round: 1, in: first), "no votes cell for M1")
            let after = try #require(Self.votes(round: 1, in: second))
            #expect(before == "0/400")
            #expect(before != after, "progress did not move between two reads: \(before) then \(after)")
            #expect(after.hasSuffix("/400"))
            #expect(second.contains("class=\"text live\""), "no live member shown")
            // The round manager samples the consumer lag from the start of the round: the lag plot is drawn.
            #expect(second.contains("<svg class=\"lag\""), "no consumer-lag plot")
            #expect(second.contains("<span id=\"status\" class=\"muted\"></span>"), "the page could not refresh")
        }
    }
}
