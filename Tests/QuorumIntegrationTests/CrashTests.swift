import Foundation
import QuorumKafka
import QuorumPipeline
import QuorumStore
import Testing

/// Kill processes of a real pipeline (workers, `quorum run` itself) with SIGKILL in the middle of a
/// round and check that the round still finishes with exactly one vote record per problem.
///
/// The pipelines use `Fixtures/tiny-arith`, a 1-layer model trained with Quorum's own `train sft`
/// (`Fixtures/tiny-arith-sft.json`) that writes `#### N` answers, often disagreeing, so rounds
/// produce real preference pairs.
@Suite("Crash safety of a pipeline on the real stack", .serialized)
struct CrashTests {
    static var fixture: String {
        TestStack.repositoryRoot.appendingPathComponent("Tests/QuorumIntegrationTests/Fixtures/tiny-arith").path
    }

    /// A spec for a small pipeline on the test's scratch database.
    static func spec(name: String, problems: Int, rounds: Int) -> String {
        """
        name: \(name)
        model: { path: \(fixture) }
        problems: [ { synthetic: { seed: 3, count: \(problems), min_steps: 1, max_steps: 1, max_number: 10 } } ]
        sampling: { k: 4, temperature: 1.0, max_new_tokens: 40 }
        tau: [0.5]
        rounds: \(rounds)
        trainer: { epochs: 1, lr: 1.0e-3, batch: 8, dev_count: 0 }
        evaluation: { split: test, count: 6, k: 2 }
        workers: 2
        partitions: 2
        """
    }

    @Test func aWorkerKilledMidRoundDoesNotStopTheRound() async throws {
        try await TestStack.withMigratedDatabase { url in
            let name = TestStack.unique("crash-worker").lowercased()
            let spec = try PipelineSpec.parse(Self.spec(name: name, problems: 30, rounds: 1))
            let database = PostgresClient(url: url)
            let manager = RoundManager(spec: spec, database: database)
            // Positions an earlier pipeline of this name left behind: registering anew forgets them
            // (else the sink would skip the new topic's first 1000 records per partition).
            for partition in Int32(0)..<2 {
                try await database.execute(
                    """
                    INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
                    VALUES (\("quorum.\(name).sink"), \(spec.votesTopic), \(partition), 1000)
                    """)
            }
            try await manager.register()
            let checkpoints = ModelCheckpoints(database: database, store: PostgresArtifactStore(client: database))
            _ = try await checkpoints.publish(directory: Self.fixture, pipeline: name, round: 0)
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            try await admin.createTopic(spec.tasksTopic, partitions: 2)
            try await admin.createTopic(spec.votesTopic, partitions: 2)
            defer {
                Task {
                    try? await admin.deleteTopic(spec.tasksTopic)
                    try? await admin.deleteTopic(spec.votesTopic)
                }
            }
            let runner = try PipelineRunner(
                spec: spec, database: database, kafka: TestStack.kafka,
                stages: PipelineStages(
                    trainSeed: { _, _ in }, trainRound: { _, _, _, _ in "{}" },
                    evaluate: { _ in EvaluationNumbers(problems: 0, greedyAccuracy: 0, majorityAccuracy: 0, k: 1) }),
                workDirectory: FileManager.default.temporaryDirectory.path)
            let problems = try runner.loadProblems()
            try await manager.createRound(1, problems: problems)
            try await manager.advance(1, to: .sampling)
            let producer = try KafkaProducer(configuration: TestStack.kafka)
            #expect(try await manager.publishPending(1, producer: producer) == 30)
            await producer.close()

            let votes = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(kafka: TestStack.kafka, groupID: "quorum.\(name).sink"),
                topics: [spec.votesTopic])
            let sink = KafkaPostgresSink(
                group: "quorum.\(name).sink", consumer: votes, database: database, handler: VoteRecordHandler())
            let sinkTask = Task { try await sink.run() }
            let flags = [
                "--pipeline", name, "--postgres-url", url, "--kafka-brokers", TestStack.endpoints.kafkaBrokers,
            ]

            // Worker A samples alone, one problem per batch, and is killed after a few votes.
            let a = try QuorumProcess(["worker", "--name", "worker-a", "--batch", "1"] + flags)
            defer { a.kill(SIGKILL) }
            let started = try await waitFor(seconds: 120) { try await manager.progress(1).voted >= 3 }
            #expect(started, "worker A stored no votes: \(a.output)")
            a.kill(SIGKILL)
            a.wait()
            let votedAtKill = try await manager.progress(1).voted
            #expect(votedAtKill < 30, "worker A finished the round before it could be killed")

            // Worker B joins; once the group gives up on A (session timeout), B gets every partition
            // from the committed offsets: A's uncommitted tasks are delivered again.
            let b = try QuorumProcess(["worker", "--name", "worker-b", "--batch", "4"] + flags)
            defer { b.kill(SIGKILL) }
            let finished = try await waitFor(seconds: 300) { try await manager.progress(1).allVoted }
            #expect(finished, "the round did not finish after worker A was killed: \(b.output)")
            b.kill(SIGTERM)
            b.wait()
            sinkTask.cancel()
            _ = try? await sinkTask.value
            await votes.close()

            let byWorker = try await database.query(
                "SELECT worker, count(*) FROM vote_records WHERE pipeline = \(name) GROUP BY worker ORDER BY worker")
            let counts = Dictionary(
                uniqueKeysWithValues: try byWorker.map {
                    (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1))
                })
            #expect((counts["worker-a"] ?? 0) >= 3)
            // A's records still in flight when it died may be stored after `votedAtKill` was read, so B's
            // share is "the rest", whatever it is; one record per problem is checked below.
            #expect((counts["worker-b"] ?? 0) > 0)
            #expect(counts.values.reduce(0, +) == 30)
            try await Self.expectOneRecordPerProblemAndPairsAsVoted(database: database, pipeline: name, rounds: 1)
            #expect(sink.stats.deadLettered == 0)
        }
    }

    @Test func aKilledWorkerShowsDeadAndItsSuccessorLive() async throws {
        try await TestStack.withMigratedDatabase { url in
            let name = TestStack.unique("heartbeat").lowercased()
            let specFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
            // Enough problems that the round outlasts the wait for the heartbeats.
            try Self.spec(name: name, problems: 3000, rounds: 1).write(to: specFile, atomically: true, encoding: .utf8)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent(name)
            defer {
                try? FileManager.default.removeItem(at: specFile)
                try? FileManager.default.removeItem(at: work)
            }
            let database = PostgresClient(url: url)
            let run = try QuorumProcess([
                "run", specFile.path, "--postgres-url", url, "--kafka-brokers", TestStack.endpoints.kafkaBrokers,
                "--work-directory", work.path, "--max-restarts", "2",
            ])
            defer { run.kill(SIGKILL) }
            let sampling = try await waitFor(seconds: 180) {
                try await Self.voted(database: database, pipeline: name, round: 1) >= 2
            }
            try #require(sampling, "round 1 never got votes: \(run.output)")
            let worker0 = try #require(try Self.childPIDs(run.output)["worker-0"], "no worker pid in: \(run.output)")
            Foundation.kill(worker0, SIGKILL)
            let restarted = try await waitFor(seconds: 20) { run.output.contains("restarted it as pid") }
            try #require(restarted, "quorum run did not restart its killed worker: \(run.output)")
            // Within three missed beats (15 s) and one more beat, the killed worker shows as dead and its
            // successor as live.
            let successor = try Self.restartedPID(run.output, of: "worker-0")
            let noticed = try await waitFor(seconds: 25) {
                let members = try await Heartbeat.members(of: name, database: database)
                let old = members.first { $0.pid == Int(worker0) }
                let new = members.first { $0.pid == successor }
                return old?.state == .dead && new?.state == .live
            }
            let members = try await Heartbeat.members(of: name, database: database)
            #expect(noticed, "heartbeats after kill -9: \(members.map(\.line))")
            #expect(members.filter { $0.role == "sink" && $0.state == .live }.count == 1)
            let status = try TestStack.runQuorum(
                ["status", "--pipeline", name, "--postgres-url", url, "--kafka-brokers", TestStack.endpoints.kafkaBrokers],
                separateErrors: true)
            #expect(status.output.contains("dead"), "\(status.output)")
            #expect(status.output.contains("live workers"))
            run.kill(SIGKILL)
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            try? await admin.deleteTopic("quorum.\(name).tasks")
            try? await admin.deleteTopic("quorum.\(name).votes")
        }
    }

    @Test
    func quorumRunKilledMidRoundContinuesWhereItStopped() async throws {
        try await TestStack.withMigratedDatabase { url in
            let name = TestStack.unique("crash-run").lowercased()
            let specFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).yaml")
            try Self.spec(name: name, problems: 24, rounds: 2).write(to: specFile, atomically: true, encoding: .utf8)
            let work = FileManager.default.temporaryDirectory.appendingPathComponent(name)
            defer {
                try? FileManager.default.removeItem(at: specFile)
                try? FileManager.default.removeItem(at: work)
            }
            let database = PostgresClient(url: url)
            let arguments = [
                "run", specFile.path, "--postgres-url", url, "--kafka-brokers", TestStack.endpoints.kafkaBrokers,
                "--work-directory", work.path, "--max-restarts", "2",
            ]
            let first = try QuorumProcess(arguments)
            defer { first.kill(SIGKILL) }
            // The first run gets into round 1; one of its workers is killed and must be restarted.
            let sampling = try await waitFor(seconds: 180) {
                try await Self.voted(database: database, pipeline: name, round: 1) >= 2
            }
            try #require(sampling, "round 1 never got votes: \(first.output)")
            let pids = try Self.childPIDs(first.output)
            let worker0 = try #require(pids["worker-0"], "no worker pid in: \(first.output)")
            Foundation.kill(worker0, SIGKILL)
            let restarted = try await waitFor(seconds: 20) {
                first.output.contains("worker-0 (pid \(worker0)) killed by signal 9; restarted it as pid")
            }
            #expect(restarted, "quorum run did not restart its killed worker: \(first.output)")

            // Now kill quorum run itself, in the middle of the round.
            let stateAtKill = try await database.query(
                "SELECT state FROM rounds WHERE pipeline = \(name) AND number = 1"
            ).first?.decode(String.self, at: 0)
            first.kill(SIGKILL)
            first.wait()
            #expect(stateAtKill != "done", "round 1 finished before quorum run was killed")
            // Its workers and sink notice that their parent is gone and stop.
            let orphans = Array(try Self.childPIDs(first.output).values)
            let stopped = try await waitFor(seconds: 30) { orphans.allSatisfy { !processIsAlive($0) } }
            #expect(stopped, "workers or the sink outlived the killed quorum run")

            // A record nobody can read arrives while nothing runs: it must end in the dead letters.
            let producer = try KafkaProducer(configuration: TestStack.kafka)
            try await producer.send(
                topic: "quorum.\(name).votes", key: Array("garbage".utf8), value: Array("{not a vote".utf8))
            await producer.close()

            let second = try QuorumProcess(arguments)
            defer { second.kill(SIGKILL) }
            let done = try await waitFor(seconds: 600) { !second.isRunning }
            #expect(done, "the second quorum run did not finish: \(second.output)")
            #expect(second.status == 0, "the second quorum run failed: \(second.output)")

            let states = try await database.query(
                "SELECT state FROM rounds WHERE pipeline = \(name) ORDER BY number"
            ).map { try $0.decode(String.self, at: 0) }
            #expect(states == ["done", "done"])
            let models = try await database.query(
                "SELECT round FROM checkpoints WHERE pipeline = \(name) ORDER BY round"
            ).map { try $0.decode(Int.self, at: 0) }
            #expect(models == [0, 1, 2])
            let evaluated = try await database.query(
                "SELECT count(*) FROM evaluations WHERE pipeline = \(name)")[0].decode(Int.self, at: 0)
            #expect(evaluated == 3)
            try await Self.expectOneRecordPerProblemAndPairsAsVoted(database: database, pipeline: name, rounds: 2)
            let dead = try await database.query(
                "SELECT reason FROM dead_letters WHERE topic = \("quorum.\(name).votes")"
            ).map { try $0.decode(String.self, at: 0) }
            #expect(dead.count == 1, "dead letters: \(dead)")
            let pairsInRound1 = try await database.query(
                "SELECT count(*) FROM pairs WHERE pipeline = \(name) AND round = 1")[0].decode(Int.self, at: 0)
            #expect(pairsInRound1 > 0, "the tiny model formed no pairs; the test checks less than it should")

            // The inspection commands read the same state.
            let rounds = try TestStack.runQuorum(["rounds", "--pipeline", name, "--postgres-url", url, "--json"])
            #expect(rounds.status == 0, "\(rounds.output)")
            let table = try #require(
                (try JSONSerialization.jsonObject(with: Data(rounds.output.utf8)) as? [String: Any])?["rounds"]
                    as? [[String: Any]])
            #expect(table.map { $0["round"] as? Int } == [0, 1, 2])
            try #require(table.count == 3)
            #expect(table[1]["pairs"] as? Int == pairsInRound1)
            #expect(table[1]["state"] as? String == "done")
            #expect((table[1]["sampling_seconds"] as? Double ?? -1) >= 0)
            #expect((table[2]["neuzip_ratio"] as? Double ?? 0) > 0.5)  // tiny tensors: table overhead
            let status = try TestStack.runQuorum([
                "status", "--pipeline", name, "--postgres-url", url, "--kafka-brokers",
                TestStack.endpoints.kafkaBrokers, "--json",
            ])
            #expect(status.status == 0, "\(status.output)")
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
            #expect((report["rounds"] as? [[String: Any]])?.count == 2)
            #expect(report["schema_version"] as? Int == 1)
            #expect(report["dead_letters"] as? Int == 1)
            #expect((report["tasks_lag_by_partition"] as? [[String: Any]])?.count == 2)
            #expect((report["votes_lag_by_partition"] as? [[String: Any]])?.count == 2)
            #expect(report["sampling_round"] == nil, "no round is sampling any more")
            // Every member the runs started is listed (the killed worker, the restarted one, the sinks…).
            let reported = try #require(report["members"] as? [[String: Any]])
            #expect(reported.filter { $0["role"] as? String == "worker" }.count >= 3)
            let exported = FileManager.default.temporaryDirectory.appendingPathComponent("\(name).jsonl")
            defer { try? FileManager.default.removeItem(at: exported) }
            let export = try TestStack.runQuorum([
                "pairs", "export", "--pipeline", name, "--round", "1", "--format", "jsonl", "--out", exported.path,
                "--postgres-url", url,
            ])
            #expect(export.status == 0, "\(export.output)")
            let lines = try String(contentsOf: exported, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == pairsInRound1)
            for line in lines {
                let pair = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(pair["prompt"] is String && pair["chosen"] is String && pair["rejected"] is String)
                #expect(pair["weight"] is Double || pair["weight"] is Int)
            }
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            try? await admin.deleteTopic("quorum.\(name).tasks")
            try? await admin.deleteTopic("quorum.\(name).votes")
        }
    }

    static func voted(database: PostgresClient, pipeline: String, round: Int) async throws -> Int {
        try await database.query(
            "SELECT count(*) FROM vote_records WHERE pipeline = \(pipeline) AND round = \(Int32(round))"
        )[0].decode(Int.self, at: 0)
    }

    /// `[run] started 2 workers and the sink (sink pid 1, worker-0 pid 2, worker-1 pid 3)`.
    /// The pid `quorum run` restarted `name` as ("… killed by signal 9; restarted it as pid N").
    static func restartedPID(_ output: String, of name: String) throws -> Int {
        let line = try #require(output.split(separator: "\n").first { $0.contains("\(name) (pid") && $0.contains("restarted it as pid") })
        let tail = try #require(line.range(of: "restarted it as pid ")).upperBound
        return try #require(Int(line[tail...].prefix { $0.isNumber }))
    }

    static func childPIDs(_ output: String) throws -> [String: Int32] {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("[run] started ") }),
            let open = line.firstIndex(of: "("), let close = line.firstIndex(of: ")")
        else { return [:] }
        var pids: [String: Int32] = [:]
        for part in line[line.index(after: open)..<close].split(separator: ",") {
            let words = part.split(separator: " ")
            if words.count == 3, let pid = Int32(words[2]) { pids[String(words[0])] = pid }
        }
        return pids
    }

    /// Every problem of every round has exactly one vote record, and the pairs table holds exactly
    /// the pairs those records carry (same chosen, rejected and weight).
    static func expectOneRecordPerProblemAndPairsAsVoted(
        database: PostgresClient, pipeline: String, rounds: Int
    ) async throws {
        for round in 1...rounds {
            let counts = try await database.query(
                """
                SELECT (SELECT count(*) FROM problems WHERE pipeline = \(pipeline) AND round = \(Int32(round))),
                       (SELECT count(*) FROM vote_records WHERE pipeline = \(pipeline) AND round = \(Int32(round))),
                       (SELECT count(*) FROM problems p WHERE pipeline = \(pipeline) AND round = \(Int32(round))
                          AND NOT EXISTS (SELECT 1 FROM vote_records v WHERE v.pipeline = p.pipeline
                                          AND v.round = p.round AND v.problem_id = p.problem_id))
                """)[0]
            let problems = try counts.decode(Int.self, at: 0)
            #expect(problems > 0)
            #expect(try counts.decode(Int.self, at: 1) == problems, "round \(round): one vote record per problem")
            #expect(try counts.decode(Int.self, at: 2) == 0, "round \(round): problems without a vote record")
            // The pairs the stored records imply, against the pairs table, both ways.
            let mismatch = try await database.query(
                """
                WITH implied AS (
                    SELECT problem_id, record->'pair'->>'chosen' AS chosen, record->'pair'->>'rejected' AS rejected,
                           (record->'pair'->>'weight')::double precision AS weight
                    FROM vote_records
                    WHERE pipeline = \(pipeline) AND round = \(Int32(round)) AND jsonb_typeof(record->'pair') = 'object'
                ), stored AS (
                    SELECT problem_id, chosen, rejected, weight FROM pairs
                    WHERE pipeline = \(pipeline) AND round = \(Int32(round))
                )
                SELECT (SELECT count(*) FROM (SELECT * FROM implied EXCEPT SELECT * FROM stored) a),
                       (SELECT count(*) FROM (SELECT * FROM stored EXCEPT SELECT * FROM implied) b),
                       (SELECT count(*) FROM vote_records WHERE pipeline = \(pipeline) AND round = \(Int32(round))
                          AND outcome = 'pair' AND jsonb_typeof(record->'pair') <> 'object')
                """)[0]
            #expect(try mismatch.decode(Int.self, at: 0) == 0, "round \(round): voted pairs missing from pairs")
            #expect(try mismatch.decode(Int.self, at: 1) == 0, "round \(round): pairs no vote record implies")
        }
    }
}

/// Polls `condition` every 200 ms for up to `seconds`; returns whether it became true.
func waitFor(seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return try await condition()
}

/// Whether a process exists and is not a zombie.
func processIsAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// The `quorum` executable running in the background, its output collected in a file.
final class QuorumProcess: @unchecked Sendable {
    private let process = Process()
    private let outputFile: URL

    init(_ arguments: [String]) throws {
        outputFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("quorum-log"))
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputFile)
        process.executableURL = URL(fileURLWithPath: TestStack.quorumExecutable)
        process.arguments = arguments
        // If this test process dies, the quorum process notices and stops (as under quorum run).
        process.environment = ProcessInfo.processInfo.environment.merging(["QUORUM_PARENT_PID": String(getpid())]) {
            _, new in new
        }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit { try? FileManager.default.removeItem(at: outputFile) }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }
    /// The exit status, or nil while it runs (Foundation traps on reading a running process's status).
    var status: Int32? { process.isRunning ? nil : process.terminationStatus }
    var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }

    func kill(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    func wait() { process.waitUntilExit() }
}
