import Foundation
import QuorumKafka
import QuorumModel
import QuorumPipeline
import QuorumStore
import QuorumTasks
import QuorumTokenizer
import Testing

@Suite("Worker with a real (tiny) model, through the real broker and database", .serialized)
struct WorkerTests {
    /// A tiny random-weight model with a tokenizer trained on arithmetic problems, saved as a model folder.
    static func makeModelFolder() throws -> (folder: URL, problems: [Problem]) {
        let problems = try ProblemGenerator().generate(split: .train, count: 40, seed: 5)
        let tokenizer = try BPETokenizer.train(
            corpus: problems.map { $0.question + "\n" + $0.solution }, vocabSize: 300)
        let config = LlamaConfig(
            hiddenSize: 32, intermediateSize: 64, numAttentionHeads: 4, numKeyValueHeads: 2, numHiddenLayers: 1,
            vocabSize: tokenizer.vocabSize, bosTokenId: tokenizer.bosID.map(Int.init),
            eosTokenId: tokenizer.eosID.map(Int.init))
        let model = try LlamaModel<Float>(config: config, seed: 11)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("m0"))
        try model.save(directory: folder.path)
        try tokenizer.tokenizerJSON().write(to: folder.appendingPathComponent("tokenizer.json"))
        return (folder, problems)
    }

    @Test func samplesAreTheSameWhicheverBatchDrawsThem() async throws {
        let (folder, problems) = try Self.makeModelFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let sampler = ModelSampler(
            model: try LlamaModel<Float>.load(directory: folder.path),
            tokenizer: try BPETokenizer(tokenizerJSON: folder.appendingPathComponent("tokenizer.json")),
            maxNewTokens: 12)
        let a = (id: problems[0].id, question: problems[0].question)
        let b = (id: problems[1].id, question: problems[1].question)
        let together = try await sampler.sample([a, b], k: 3, temperature: 0.7, topP: 0.9, seed: 1)
        let alone = try await sampler.sample([b], k: 3, temperature: 0.7, topP: 0.9, seed: 1)
        #expect(together[1] == alone[0])
        #expect(together.count == 2 && together[0].count == 3)
        let reseeded = try await sampler.sample([b], k: 3, temperature: 0.7, topP: 0.9, seed: 2)
        #expect(reseeded[0] != alone[0])
    }

    @Test func aWorkerVotesEveryProblemOfARoundFromThePublishedCheckpoint() async throws {
        try await TestStack.withMigratedDatabase { url in
            let (folder, problems) = try Self.makeModelFolder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let name = TestStack.unique("worker").lowercased()
            let spec = try PipelineSpec.parse(
                """
                name: \(name)
                model: { path: \(folder.path) }
                problems: [ { synthetic: { seed: 5, count: 8 } } ]
                sampling: { k: 4, max_new_tokens: 12 }
                partitions: 2
                """)
            let database = PostgresClient(url: url)
            let manager = RoundManager(spec: spec, database: database)
            try await manager.register()
            // M0 travels as a NeuZip checkpoint through the artifact store, as between machines.
            let checkpoints = ModelCheckpoints(database: database, store: PostgresArtifactStore(client: database))
            let published = try await checkpoints.publish(directory: folder.path, pipeline: name, round: 0)
            #expect(published.compressedBytes < published.uncompressedBytes)

            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            try await admin.createTopic(spec.tasksTopic, partitions: 2)
            try await admin.createTopic(spec.votesTopic, partitions: 2)
            try await manager.createRound(
                1, problems: problems.prefix(8).map { RoundProblem(id: $0.id, question: $0.question, gold: $0.answer) })
            try await manager.advance(1, to: .sampling)
            let producer = try KafkaProducer(configuration: TestStack.kafka)
            // Two tasks no worker can serve, among the real ones: garbage, and a task of a round whose
            // model was never published (a worker used to crash on it, and again on every redelivery).
            try await producer.send(topic: spec.tasksTopic, key: Array("x".utf8), value: Array("garbage".utf8))
            let stale = TaskMessage(pipeline: name, round: 7, problemID: "stale", question: "1 + 1?", attempt: 1)
            try await producer.send(topic: spec.tasksTopic, key: Array("stale".utf8), value: try WireFormat.encode(stale))
            #expect(try await manager.publishPending(1, producer: producer) == 8)
            await producer.close()

            let worker = try Worker(
                spec: spec, name: "test-worker", kafka: TestStack.kafka, maxProblemsPerBatch: 4,
                deadLetter: { message, reason in
                    _ = try? await database.withConnection { try DeadLetters.insert(message, reason: reason, in: $0) }
                }
            ) { round in
                let unpacked = FileManager.default.temporaryDirectory.appendingPathComponent(
                    TestStack.unique("fetched"))
                try await checkpoints.fetch(pipeline: name, round: round - 1, into: unpacked.path)
                return ModelSampler(
                    model: try LlamaModel<Float>.load(directory: unpacked.path),
                    tokenizer: try BPETokenizer(tokenizerJSON: unpacked.appendingPathComponent("tokenizer.json")),
                    maxNewTokens: 12)
            }
            let votes = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(kafka: TestStack.kafka, groupID: "\(name).sink"),
                topics: [spec.votesTopic])
            let sink = KafkaPostgresSink(
                group: "\(name).sink", consumer: votes, database: database, handler: VoteRecordHandler())
            let workerTask = Task { try await worker.run() }
            let sinkTask = Task { try await sink.run() }
            let deadline = ContinuousClock.now + .seconds(90)
            while try await !manager.progress(1).allVoted, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            workerTask.cancel()
            sinkTask.cancel()
            _ = try? await workerTask.value
            _ = try? await sinkTask.value
            await worker.close()
            await votes.close()

            #expect(try await manager.progress(1).allVoted)
            #expect(worker.stats.problems == 8)
            #expect(worker.stats.samples == 32)
            let records = try await database.query(
                "SELECT k, worker, outcome FROM vote_records WHERE pipeline = \(name)")
            #expect(records.count == 8)
            for row in records {
                #expect(try row.decode(Int.self, "k") == 4)
                #expect(try row.decode(String.self, "worker") == "test-worker")
            }
            #expect(sink.stats.deadLettered == 0)
            #expect(worker.stats.unreadableTasks == 2)
            let dead = try await database.query(
                "SELECT reason FROM dead_letters WHERE topic = \(spec.tasksTopic) ORDER BY reason"
            ).map { try $0.decode(String.self, "reason") }
            #expect(dead.count == 2)
            #expect(dead.contains { $0.contains("no model M6") })
            #expect(dead.contains { $0.contains("not JSON") })
            try await admin.deleteTopic(spec.tasksTopic)
            try await admin.deleteTopic(spec.votesTopic)
        }
    }
}
