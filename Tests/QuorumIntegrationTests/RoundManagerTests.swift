import Foundation
import QuorumKafka
import QuorumPipeline
import QuorumStore
import QuorumVoting
import Testing

@Suite("Round manager, tasks and vote records through the real broker", .serialized)
struct RoundManagerTests {
    static func spec(_ name: String) throws -> PipelineSpec {
        try PipelineSpec.parse(
            """
            name: \(name)
            model: { path: models/m0 }
            problems: [ { synthetic: { seed: 1, count: 30 } } ]
            partitions: 2
            """)
    }

    /// Stands in for the model: answers every task it reads with a fixed vote pattern, like a
    /// worker would (the worker's model is not what this test is about).
    static func answerTasks(spec: PipelineSpec, group: String, until done: @Sendable () async throws -> Bool)
        async throws
    {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(kafka: TestStack.kafka, groupID: group), topics: [spec.tasksTopic]
        )
        let producer = try KafkaProducer(configuration: TestStack.kafka)
        let deadline = ContinuousClock.now + .seconds(90)
        while try await !done(), ContinuousClock.now < deadline {
            guard let message = try await consumer.poll(timeoutMilliseconds: 200) else { continue }
            let task = try WireFormat.decode(TaskMessage.self, from: message.value)
            let record = VoteRecordMessage(
                pipeline: task.pipeline, round: task.round, problemID: task.problemID, k: 8,
                answers: [.init(answer: "12", votes: 5), .init(answer: "13", votes: 2)], unparsable: 1, outcome: "pair",
                worker: "test-worker",
                pair: PreferencePair(
                    problemID: task.problemID, round: task.round, prompt: task.question, chosen: "… #### 12",
                    rejected: "… #### 13", chosenAnswer: "12", rejectedAnswer: "13", weight: 3.0 / 8, chosenVotes: 5,
                    rejectedVotes: 2, k: 8, source: .selfConsistency))
            try await producer.send(
                topic: spec.votesTopic, key: Array(task.problemID.utf8), value: try WireFormat.encode(record))
            // Only after the delivery report; rebalanced away (a starved machine), the task is
            // delivered again and voted again.
            try await consumer.commitUnlessRebalanced([message.nextPosition])
        }
        await producer.close()
        await consumer.close()
    }

    @Test func aRoundIsPublishedVotedStoredAndSurvivesALostQueue() async throws {
        try await TestStack.withMigratedDatabase { url in
            let spec = try Self.spec(TestStack.unique("rounds").lowercased())
            let database = PostgresClient(url: url)
            let manager = RoundManager(spec: spec, database: database)
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            try await admin.createTopic(spec.tasksTopic, partitions: spec.partitions)
            try await admin.createTopic(spec.votesTopic, partitions: spec.partitions)

            try await manager.register()
            try await manager.register()  // idempotent
            let problems = (0..<30).map {
                RoundProblem(id: "p\($0)", question: "What is \($0) + 1?", gold: "\($0 + 1)")
            }
            try await manager.createRound(1, problems: problems)
            try await manager.createRound(1, problems: problems)  // idempotent
            await #expect(throws: RoundError.self) { try await manager.advance(1, to: .training) }
            try await manager.advance(1, to: .sampling)

            let producer = try KafkaProducer(configuration: TestStack.kafka)
            #expect(try await manager.publishPending(1, producer: producer) == 30)
            #expect(try await manager.publishPending(1, producer: producer) == 0)
            var progress = try await manager.progress(1)
            #expect(progress.problems == 30 && progress.published == 30 && progress.voted == 0)

            // The sink stores vote records as they arrive; a worker answers tasks.
            let votes = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(kafka: TestStack.kafka, groupID: "\(spec.name).sink"),
                topics: [spec.votesTopic])
            let sink = KafkaPostgresSink(
                group: "\(spec.name).sink", consumer: votes, database: database, handler: VoteRecordHandler())
            let sinkTask = Task { try await sink.run() }
            try await Self.answerTasks(spec: spec, group: "\(spec.name).workers") {
                try await manager.progress(1).allVoted
            }
            progress = try await manager.progress(1)
            #expect(progress.allVoted)
            #expect(progress.pairs == 30)
            #expect(progress.meanWeight == 0.375)

            // Round 2: the broker "loses" its queue before any worker reads it (as a restart of the
            // in-memory broker would); PostgreSQL knows what is missing and the manager re-publishes.
            try await manager.createRound(2, problems: problems)
            try await manager.advance(2, to: .sampling)
            #expect(try await manager.publishPending(2, producer: producer) == 30)
            try await admin.deleteTopic(spec.tasksTopic)
            try await Task.sleep(for: .seconds(1))
            try await admin.createTopic(spec.tasksTopic, partitions: spec.partitions)
            #expect(try await manager.republishMissing(2, olderThan: 0, producer: producer) == 30)
            try await Self.answerTasks(spec: spec, group: "\(spec.name).workers2") {
                try await manager.progress(2).allVoted
            }
            #expect(try await manager.progress(2).allVoted)
            #expect(try await manager.republishMissing(2, olderThan: 0, producer: producer) == 0)

            // Bad records go to the dead letters; a duplicate changes nothing.
            let duplicate = VoteRecordMessage(
                pipeline: spec.name, round: 1, problemID: "p3", k: 8, answers: [.init(answer: "99", votes: 8)],
                unparsable: 0, outcome: "unanimous", worker: "late", pair: nil)
            var unknown = duplicate
            unknown.problemID = "no-such-problem"
            var inconsistent = duplicate
            inconsistent.answers = [.init(answer: "1", votes: 9)]
            for value in [
                try WireFormat.encode(duplicate), try WireFormat.encode(unknown), try WireFormat.encode(inconsistent),
                Array("{\"schema\": 7}".utf8), Array("not json".utf8),
            ] {
                try await producer.send(topic: spec.votesTopic, key: Array("x".utf8), value: value)
            }
            await producer.close()
            let deadline = ContinuousClock.now + .seconds(30)
            while sink.stats.deadLettered < 4, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            sinkTask.cancel()
            _ = try? await sinkTask.value
            await votes.close()
            let reasons = try await database.query("SELECT reason FROM dead_letters ORDER BY id").map {
                try $0.decode(String.self, at: 0)
            }
            #expect(reasons.count == 4)
            #expect(reasons.contains { $0.contains("foreign key") || $0.contains("violates") })
            #expect(reasons.contains { $0.contains("outside 0…k") })
            #expect(reasons.contains { $0.contains("schema 7") })
            #expect(reasons.contains { $0.contains("not JSON") })
            let stored = try await database.query(
                "SELECT worker FROM vote_records WHERE round = 1 AND problem_id = 'p3'")
            #expect(try stored[0].decode(String.self, at: 0) == "test-worker")

            try await manager.advance(1, to: .training)
            try await manager.advance(1, to: .failed, failure: "trainer crashed")
            #expect(try await manager.progress(1).failure == "trainer crashed")
            await #expect(throws: RoundError.self) { try await manager.advance(1, to: .evaluating) }
            try await admin.deleteTopic(spec.tasksTopic)
            try await admin.deleteTopic(spec.votesTopic)
        }
    }

    /// A failed round runs again after `reset-round`; `delete` removes the pipeline and its rows.
    @Test func aFailedRoundIsResetAndAPipelineDeleted() async throws {
        try await TestStack.withMigratedDatabase { url in
            let spec = try Self.spec(TestStack.unique("lifecycle").lowercased())
            let database = PostgresClient(url: url)
            let manager = RoundManager(spec: spec, database: database)
            try await manager.register()
            try await manager.createRound(1, problems: [RoundProblem(id: "p1", question: "1 + 1?", gold: "2")])
            try await manager.advance(1, to: .sampling)
            await #expect(throws: RoundError.self) { try await manager.resetFailedRound(1) }  // not failed
            try await manager.advance(1, to: .failed, failure: "sampling: the broker vanished")
            // No vote record yet: back to sampling.
            #expect(try await manager.resetFailedRound(1) == .sampling)
            let progress = try await manager.progress(1)
            #expect(progress.state == .sampling && progress.failure == nil)
            #expect(RoundStep(progress.state) == .sample)

            let listed = try await PipelineListing.load(database: database)
            #expect(listed.map(\.name) == [spec.name] && listed[0].rounds == 1)
            #expect(try await manager.delete())
            #expect(try await PipelineListing.load(database: database).isEmpty)
            let left = try await database.query("SELECT count(*) AS n FROM problems")[0].decode(Int.self, "n")
            #expect(left == 0)
        }
    }

    /// Iterating SCPO further: a finished pipeline takes more rounds; a change that would alter rounds
    /// already recorded is refused with the keys that changed.
    @Test func moreRoundsAreAcceptedOtherChangesRefused() async throws {
        try await TestStack.withMigratedDatabase { url in
            let name = TestStack.unique("extend").lowercased()
            let database = PostgresClient(url: url)
            let two = try PipelineSpec.parse(
                "name: \(name)\nmodel: { path: models/m0 }\nproblems: [ { synthetic: { seed: 1, count: 3 } } ]\nrounds: 2")
            try await RoundManager(spec: two, database: database).register()
            try await RoundManager(spec: two, database: database).createRound(
                1, problems: [RoundProblem(id: "p1", question: "1 + 1?", gold: "2")])
            var three = two
            three.rounds = 3
            try await RoundManager(spec: three, database: database).register()
            #expect(try await PipelineSpec.registered(name, database: database).rounds == 3)

            var retuned = three
            retuned.tau = [0.9]
            let error = await #expect(throws: RoundError.self) {
                try await RoundManager(spec: retuned, database: database).register()
            }
            #expect(error?.message.contains("tau") == true)
            var fewer = three
            fewer.rounds = 0
            await #expect(throws: RoundError.self) { try await RoundManager(spec: fewer, database: database).register() }
            #expect(try await PipelineSpec.registered(name, database: database).rounds == 3)
        }
    }

    /// A pipeline deleted and started again under its name is a new run: votes of the old run still in
    /// the topic are dead-lettered, not stored into the new one.
    @Test func votesOfAnEarlierRunOfTheNameAreNotStored() async throws {
        try await TestStack.withMigratedDatabase { url in
            let spec = try Self.spec(TestStack.unique("runs").lowercased())
            let database = PostgresClient(url: url)
            let manager = RoundManager(spec: spec, database: database)
            try await manager.register()
            let first = try await manager.runID()
            try await manager.delete()
            try await manager.register()
            let second = try await manager.runID()
            #expect(first != second)
            try await manager.createRound(1, problems: [RoundProblem(id: "p1", question: "1 + 1?", gold: "2")])

            let topic = TestStack.unique("quorum.test.runs")
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            try await admin.createTopic(topic, partitions: 1)
            let producer = try KafkaProducer(configuration: TestStack.kafka)
            for run in [first, second] {
                var record = VoteRecordMessage(
                    pipeline: spec.name, round: 1, problemID: "p1", k: 4, answers: [.init(answer: "2", votes: 4)],
                    unparsable: 0, outcome: "unanimous", worker: "w-\(run.prefix(4))", pair: nil)
                record.run = run
                try await producer.send(topic: topic, key: Array("p1".utf8), value: try WireFormat.encode(record))
            }
            await producer.close()
            let stats = try await SinkTests.drain(
                topic, count: 2, group: "runs-sink", handler: VoteRecordHandler(), database: database)
            #expect(stats.applied == 1 && stats.deadLettered == 1)
            let worker = try await database.query("SELECT worker FROM vote_records WHERE pipeline = \(spec.name)")
            #expect(try worker.map { try $0.decode(String.self, "worker") } == ["w-\(second.prefix(4))"])
            let reason = try await database.query("SELECT reason FROM dead_letters")[0].decode(String.self, "reason")
            #expect(reason.contains("earlier run"))
            try await admin.deleteTopic(topic)
        }
    }
}
