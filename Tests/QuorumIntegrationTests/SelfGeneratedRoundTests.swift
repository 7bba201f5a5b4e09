import Foundation
import QuorumKafka
import QuorumStore
import Testing

@Suite("A round with self-generated problems, on the real stack")
struct SelfGeneratedRoundTests {
    @Test func theModelWritesQuestionsAndOnlyThoseItsVotePassesEnterTheRound() async throws {
        try await TestStack.withMigratedDatabase { url in
            let name = TestStack.unique("self-gen").lowercased()
            let specFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
            // τ = 0.25 of k = 4: one parsable answer passes the vote. The tiny model's continuations are
            // mostly solution fragments (SFT never scored questions), which the filter drops; whatever
            // number is kept, exactly those rows must enter the round, without gold, each voted once.
            try """
            name: \(name)
            model: { path: \(CrashTests.fixture) }
            problems:
              - synthetic: { seed: 3, count: 6, min_steps: 1, max_steps: 1, max_number: 10 }
              - self_generated: { count: 8, seed: 2 }
            sampling: { k: 4, temperature: 1.0, max_new_tokens: 40 }
            tau: [0.25]
            rounds: 1
            trainer: { epochs: 1, lr: 1.0e-3, batch: 8, dev_count: 0 }
            evaluation: { split: test, count: 4, k: 2 }
            workers: 1
            partitions: 1
            """.write(to: specFile, atomically: true, encoding: .utf8)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent(name)
            defer {
                try? FileManager.default.removeItem(at: specFile)
                try? FileManager.default.removeItem(at: work)
            }
            let (status, output) = try TestStack.runQuorum([
                "run", specFile.path, "--postgres-url", url, "--kafka-brokers", TestStack.endpoints.kafkaBrokers,
                "--work-directory", work.path,
            ])
            #expect(status == 0, "\(output)")
            // "[run] round 1: M0 wrote 8 questions, kept N (dropped: …)"
            let line = try #require(
                output.split(separator: "\n").first { $0.contains("M0 wrote 8 questions, kept ") }, "\(output)")
            let kept = try #require(Int(line.split(separator: "kept ")[1].prefix { $0.isNumber }))
            let database = PostgresClient(url: url)
            let rows = try await database.query(
                """
                SELECT p.problem_id, p.question, p.gold, v.k
                FROM problems p LEFT JOIN vote_records v USING (pipeline, round, problem_id)
                WHERE p.pipeline = \(name) AND p.source = 'self-generated'
                """)
            #expect(rows.count == kept)
            for row in rows {
                #expect(try row.decode(String.self, at: 0).hasPrefix("sg-"))
                #expect(try row.decode(String.self, at: 1).split(separator: " ").count >= 4)
                #expect(try row.decode(String?.self, at: 2) == nil, "self-generated problems have no gold answer")
                #expect(try row.decode(Int?.self, at: 3) == 4, "every kept question was voted by the workers")
            }
            let synthetic = try await database.query(
                "SELECT count(*) FROM problems WHERE pipeline = \(name) AND source = 'synthetic'")[0]
                .decode(Int.self, at: 0)
            #expect(synthetic == 6)
            #expect(
                try await database.query("SELECT state FROM rounds WHERE pipeline = \(name)").first?.decode(
                    String.self, at: 0) == "done")
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            try? await admin.deleteTopic("quorum.\(name).tasks")
            try? await admin.deleteTopic("quorum.\(name).votes")
        }
    }
}
