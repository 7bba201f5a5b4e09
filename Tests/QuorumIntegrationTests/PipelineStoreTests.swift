import Foundation
import QuorumDigest
import QuorumKafka
import QuorumPipeline
import QuorumStore
import Testing

@Suite("Artifact stores")
struct ArtifactStoreTests {
    static func sampleBytes(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    @Test func postgresStoreRoundTripsInChunksAndDetectsDamage() async throws {
        try await TestStack.withMigratedDatabase { url in
            let client = PostgresClient(url: url)
            let store = PostgresArtifactStore(client: client, chunkBytes: 1000)
            let bytes = Self.sampleBytes(4_500)
            let digest = try await store.put(bytes)
            #expect(try await store.contains(digest))
            #expect(try await store.get(digest) == bytes)
            #expect(try await client.query("SELECT count(*) FROM artifact_chunks")[0].decode(Int.self, at: 0) == 5)
            // Storing the same bytes again is a no-op.
            #expect(try await store.put(bytes) == digest)
            #expect(try await client.query("SELECT count(*) FROM artifact_chunks")[0].decode(Int.self, at: 0) == 5)
            // An empty artifact is fine too.
            let empty = try await store.put([])
            #expect(try await store.get(empty) == [])

            // A damaged chunk is caught by the digest check.
            try await client.execute(
                "UPDATE artifact_chunks SET data = set_byte(data, 10, get_byte(data, 10) # 1) WHERE sha256 = \(digest) AND index = 2"
            )
            let damage = await #expect(throws: ArtifactError.self) { try await store.get(digest) }
            #expect(damage?.isDamage == true)
            let missing = await #expect(throws: ArtifactError.self) {
                try await store.get(String(repeating: "0", count: 64))
            }
            #expect(missing?.isDamage == false)

            // Restoring writes every chunk again; a put would have trusted the damaged copy.
            #expect(try await store.put(bytes) == digest)
            await #expect(throws: ArtifactError.self) { try await store.get(digest) }
            try await store.restore(bytes)
            #expect(try await store.get(digest) == bytes)
            #expect(try await client.query("SELECT count(*) FROM artifact_chunks WHERE sha256 = \(digest)")[0]
                .decode(Int.self, at: 0) == 5)
        }
    }

    @Test func filesStreamInAndOutChunkByChunk() async throws {
        try await TestStack.withMigratedDatabase { url in
            let client = PostgresClient(url: url)
            let store = PostgresArtifactStore(client: client, chunkBytes: 1000)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("stream"))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let bytes = Self.sampleBytes(10_500)
            let source = folder.appendingPathComponent("in").path
            try Data(bytes).write(to: URL(fileURLWithPath: source))
            let digest = try await store.upload(file: source)
            #expect(digest == SHA256.hexDigest(bytes))
            #expect(try await client.query("SELECT count(*) FROM artifact_chunks WHERE sha256 = \(digest)")[0]
                .decode(Int.self, at: 0) == 11)
            #expect(try await store.upload(file: source) == digest)  // a no-op the second time
            let target = folder.appendingPathComponent("out").path
            try await store.download(digest, to: target)
            #expect(FileManager.default.contents(atPath: target) == Data(bytes))
            // What put stored, download reads, and the other way round.
            #expect(try await store.get(digest) == bytes)

            try await client.execute(
                "UPDATE artifact_chunks SET data = set_byte(data, 3, get_byte(data, 3) # 1) WHERE sha256 = \(digest) AND index = 7")
            try? FileManager.default.removeItem(atPath: target)
            let damage = await #expect(throws: ArtifactError.self) { try await store.download(digest, to: target) }
            #expect(damage?.isDamage == true)
            #expect(!FileManager.default.fileExists(atPath: target), "a damaged download left a file")
            try await client.execute("DELETE FROM artifact_chunks WHERE sha256 = \(digest) AND index = 9")
            await #expect(throws: ArtifactError.self) { try await store.download(digest, to: target) }
        }
    }

    @Test func aPipelineCanKeepItsCheckpointsInADirectory() async throws {
        try await TestStack.withMigratedDatabase { url in
            let client = PostgresClient(url: url)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("shared"))
            defer { try? FileManager.default.removeItem(at: folder) }
            let spec = try PipelineSpec.parse(
                """
                name: shared
                model: { path: m0 }
                problems: [ { synthetic: { seed: 1, count: 2 } } ]
                artifacts: { store: directory, path: \(folder.path) }
                """)
            let store = try spec.artifactStore(database: client)
            #expect(store is DirectoryArtifactStore)
            try await client.execute("INSERT INTO pipelines (name, spec, spec_sha256) VALUES ('shared', '{}'::jsonb, 'x')")
            let checkpoints = ModelCheckpoints(database: client, store: store)
            let model = TestStack.repositoryRoot.appendingPathComponent("Tests/QuorumIntegrationTests/Fixtures/tiny-arith").path
            let published = try await checkpoints.publish(directory: model, pipeline: "shared", round: 0)
            #expect(FileManager.default.fileExists(atPath: folder.path + "/" + published.artifact))
            #expect(try await client.query("SELECT store FROM artifacts WHERE sha256 = \(published.artifact)")[0]
                .decode(String.self, at: 0) == "directory")
            #expect(try await client.query("SELECT count(*) FROM artifact_chunks")[0].decode(Int.self, at: 0) == 0)
            let fetched = folder.appendingPathComponent("m0").path
            try await checkpoints.fetch(pipeline: "shared", round: 0, into: fetched)
            #expect(
                FileManager.default.contents(atPath: fetched + "/model.safetensors")
                    == FileManager.default.contents(atPath: model + "/model.safetensors"))
            let listed = try await PostgresArtifactStore(client: client).list()
            #expect(listed.map(\.store) == ["directory"])
            #expect(throws: PipelineSpecError.self) {
                try PipelineSpec.parse(
                    "name: x\nmodel: { path: m }\nproblems: [ { synthetic: { seed: 1, count: 2 } } ]\nartifacts: { store: directory }")
            }
        }
    }

    @Test func aDamagedCheckpointIsMendedFromTheLocalCopyOnly() async throws {
        try await TestStack.withMigratedDatabase { url in
            let client = PostgresClient(url: url)
            let store = PostgresArtifactStore(client: client, chunkBytes: 4096)
            let model = TestStack.repositoryRoot.appendingPathComponent("Tests/QuorumIntegrationTests/Fixtures/tiny-arith").path
            let name = TestStack.unique("mend").lowercased()
            try await client.execute(
                "INSERT INTO pipelines (name, spec, spec_sha256) VALUES (\(name), '{}'::jsonb, \(name))")
            let checkpoints = ModelCheckpoints(database: client, store: store)
            let published = try await checkpoints.publish(directory: model, pipeline: name, round: 0)
            #expect(try await checkpoints.mendIfDamaged(pipeline: name, round: 0, localCopy: model) == .intact)

            try await client.execute(
                """
                UPDATE artifact_chunks SET data = set_byte(data, 7, get_byte(data, 7) # 255)
                WHERE sha256 = \(published.artifact) AND index = 1
                """)
            let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
            let withoutCopy = try await checkpoints.mendIfDamaged(pipeline: name, round: 0, localCopy: elsewhere)
            guard case .damagedWithoutCopy(let reason) = withoutCopy else {
                Issue.record("expected damage without a copy, got \(withoutCopy)")
                return
            }
            #expect(reason.contains("damaged"))
            #expect(try await checkpoints.mendIfDamaged(pipeline: name, round: 0, localCopy: model) == .restored)
            #expect(try await checkpoints.mendIfDamaged(pipeline: name, round: 0, localCopy: model) == .intact)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(name + "-fetched").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try await checkpoints.fetch(pipeline: name, round: 0, into: folder)
            #expect(
                FileManager.default.contents(atPath: folder + "/model.safetensors")
                    == FileManager.default.contents(atPath: model + "/model.safetensors"))
        }
    }

    @Test func anInterruptedUploadIsNeverReadAndIsResumed() async throws {
        try await TestStack.withMigratedDatabase { url in
            let client = PostgresClient(url: url)
            let store = PostgresArtifactStore(client: client, chunkBytes: 1000)
            let bytes = Self.sampleBytes(3_000)
            let digest = try await store.put(bytes)
            // Simulate a crash mid-upload: incomplete, one chunk missing.
            try await client.execute("UPDATE artifacts SET complete = false WHERE sha256 = \(digest)")
            try await client.execute("DELETE FROM artifact_chunks WHERE sha256 = \(digest) AND index = 1")
            #expect(try await store.contains(digest) == false)
            await #expect(throws: ArtifactError.self) { try await store.get(digest) }
            #expect(try await store.put(bytes) == digest)
            #expect(try await store.get(digest) == bytes)
        }
    }

    @Test func directoryStoreRoundTrips() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(TestStack.unique("artifacts")).path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try DirectoryArtifactStore(directory: folder)
        let bytes = Self.sampleBytes(10_000)
        let digest = try await store.put(bytes)
        #expect(try await store.get(digest) == bytes)
        var damaged = bytes
        damaged[5] ^= 0x80
        try Data(damaged).write(to: URL(fileURLWithPath: folder + "/" + digest))
        await #expect(throws: ArtifactError.self) { try await store.get(digest) }
        try await store.restore(bytes)
        #expect(try await store.get(digest) == bytes)
    }
}

/// A deliberately non-idempotent handler (a plain INSERT with no unique key), so any double
/// application would show as an extra row.
private struct NotesHandler: SinkHandler {
    func apply(_ message: KafkaMessage, in db: PostgresConnection) throws {
        let text = String(decoding: message.value, as: UTF8.self)
        guard text.hasPrefix("note:") else { throw DeadLetter("not a note: expected a value starting with 'note:'") }
        try db.execute("INSERT INTO notes (body) VALUES (\(String(text.dropFirst(5))))")
    }
}

/// An idempotent handler: the key is the primary key, so a second copy changes nothing.
private struct KeyedNotesHandler: SinkHandler {
    var isIdempotent: Bool { true }
    func apply(_ message: KafkaMessage, in db: PostgresConnection) throws {
        let key = String(decoding: message.key ?? [], as: UTF8.self)
        let body = String(decoding: message.value, as: UTF8.self)
        try db.execute("INSERT INTO keyed_notes (key, body) VALUES (\(key), \(body)) ON CONFLICT (key) DO NOTHING")
    }
}

@Suite("Kafka → PostgreSQL sink")
struct SinkTests {
    /// Reads `topic` into PostgreSQL with a fresh Kafka group until `count` messages were handled.
    static func drain(
        _ topic: String, count: Int, group: String, handler: any SinkHandler, database: PostgresClient
    ) async throws -> SinkStatistics {
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(kafka: TestStack.kafka, groupID: TestStack.unique("g")),
            topics: [topic])
        let sink = KafkaPostgresSink(group: group, consumer: consumer, database: database, handler: handler)
        let deadline = ContinuousClock.now + .seconds(60)
        while sink.stats.applied + sink.stats.deadLettered + sink.stats.skippedAsDuplicate + sink.stats.reapplied
            < count, ContinuousClock.now < deadline
        {
            try await sink.runOnce()
        }
        await consumer.close()
        return sink.stats
    }

    /// An in-memory broker that restarts loses its topics; the new topic numbers its messages from 0
    /// again, below the positions PostgreSQL holds. An idempotent handler must still get them.
    @Test func aTopicCreatedAgainLosesNothingWithAnIdempotentHandler() async throws {
        try await TestStack.withMigratedDatabase { url in
            let database = PostgresClient(url: url)
            try await database.execute("CREATE TABLE keyed_notes (key text PRIMARY KEY, body text NOT NULL)")
            let topic = TestStack.unique("quorum.test.recreated")
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            func fill(_ keys: Range<Int>) async throws {
                let producer = try KafkaProducer(configuration: TestStack.kafka)
                for index in keys {
                    try await producer.send(
                        topic: topic, key: Array("k\(index)".utf8), value: Array("note \(index)".utf8))
                }
                await producer.close()
            }
            func rows() async throws -> Int {
                try await database.query("SELECT count(*) FROM keyed_notes")[0].decode(Int.self, at: 0)
            }
            try await admin.createTopic(topic, partitions: 1)
            try await fill(0..<30)
            let first = try await Self.drain(
                topic, count: 30, group: "keyed", handler: KeyedNotesHandler(), database: database)
            #expect(first.applied == 30)
            #expect(try await rows() == 30)

            try await admin.deleteTopic(topic)
            try await admin.createTopic(topic, partitions: 1)
            try await fill(30..<40)  // offsets 0…9 again, all below the stored position 30
            let second = try await Self.drain(
                topic, count: 10, group: "keyed", handler: KeyedNotesHandler(), database: database)
            #expect(second.reapplied == 10)
            #expect(try await rows() == 40, "messages of the topic created again were lost")

            // Redelivery still changes nothing.
            let third = try await Self.drain(
                topic, count: 10, group: "keyed", handler: KeyedNotesHandler(), database: database)
            #expect(third.reapplied == 10)
            #expect(try await rows() == 40)
            try await admin.deleteTopic(topic)
        }
    }

    @Test func redeliveryChangesNothingAndBadMessagesAreKept() async throws {
        try await TestStack.withMigratedDatabase { url in
            let database = PostgresClient(url: url)
            try await database.execute("CREATE TABLE notes (body text NOT NULL)")
            let topic = TestStack.unique("quorum.test.sink")
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            try await admin.createTopic(topic, partitions: 2)
            let producer = try KafkaProducer(configuration: TestStack.kafka)
            for index in 0..<60 {
                let value = index % 10 == 7 ? "garbage \(index)" : "note:\(index)"
                try await producer.send(topic: topic, key: Array("p\(index)".utf8), value: Array(value.utf8))
            }
            await producer.close()

            let first = try await Self.drain(
                topic, count: 60, group: "notes-sink", handler: NotesHandler(), database: database)
            #expect(first.applied == 54)
            #expect(first.deadLettered == 6)
            #expect(try await database.query("SELECT count(*) FROM notes")[0].decode(Int.self, at: 0) == 54)
            let dead = try await database.query("SELECT payload, reason FROM dead_letters ORDER BY payload")
            #expect(dead.count == 6)
            #expect(
                String(decoding: try dead[0].decode(PostgresBytes.self, "payload").bytes, as: UTF8.self).hasPrefix(
                    "garbage"))
            #expect(try dead[0].decode(String.self, "reason").contains("not a note"))

            // A new Kafka group re-reads everything from the start (as after lost Kafka commits);
            // the positions stored in PostgreSQL make every message a recognised duplicate.
            let second = try await Self.drain(
                topic, count: 60, group: "notes-sink", handler: NotesHandler(), database: database)
            #expect(second.skippedAsDuplicate == 60)
            #expect(second.applied == 0)
            #expect(try await database.query("SELECT count(*) FROM notes")[0].decode(Int.self, at: 0) == 54)
            #expect(try await database.query("SELECT count(*) FROM dead_letters")[0].decode(Int.self, at: 0) == 6)
            let stored = try await database.query(
                "SELECT sum(next_offset) FROM consumer_offsets WHERE consumer_group = 'notes-sink'")
            #expect(try stored[0].decode(Int.self, at: 0) == 60)
            try await admin.deleteTopic(topic)
        }
    }

    /// Vote records that would have crashed the sink (an integer past a column's range, a NUL
    /// character) are dead-lettered with the reason; the sink goes on. A topic created again puts
    /// new bad messages at positions old dead letters hold: both are kept.
    @Test func hostileVoteRecordsAreDeadLetteredAndNothingIsOverwritten() async throws {
        try await TestStack.withMigratedDatabase { url in
            let database = PostgresClient(url: url)
            let topic = TestStack.unique("quorum.test.votes")
            let admin = try KafkaAdmin(configuration: TestStack.kafka)
            let record = #"""
                {"schema": 1, "pipeline": "p", "round": 1, "problem_id": "q1", "k": 4,
                 "answers": [{"answer": "7", "votes": 3}], "unparsable": 1, "outcome": "unanimous", "worker": "w"}
                """#
            let hostile = [
                record.replacingOccurrences(of: #""k": 4"#, with: #""k": 3000000000"#),
                record.replacingOccurrences(of: #""votes": 3"#, with: #""votes": 9223372036854775807"#),
                record.replacingOccurrences(of: #""worker": "w""#, with: #""worker": "w\u0000""#),
                record,  // valid, but round 1 of pipeline p has no problem q1: the foreign key refuses it
            ]
            func produce(_ values: [String]) async throws {
                let producer = try KafkaProducer(configuration: TestStack.kafka)
                for (index, value) in values.enumerated() {
                    try await producer.send(topic: topic, key: Array("q\(index)".utf8), value: Array(value.utf8))
                }
                await producer.close()
            }
            try await admin.createTopic(topic, partitions: 1)
            try await produce(hostile)
            let first = try await Self.drain(
                topic, count: 4, group: "votes-sink", handler: VoteRecordHandler(), database: database)
            #expect(first.deadLettered == 4 && first.applied == 0)
            let reasons = try await database.query("SELECT reason FROM dead_letters ORDER BY \"offset\"").map {
                try $0.decode(String.self, "reason")
            }
            #expect(reasons.count == 4)
            #expect(reasons[0].contains("k = 3000000000 is outside"))
            #expect(reasons[1].contains("outside 0…k"))
            #expect(reasons[2].contains("NUL"))

            try await admin.deleteTopic(topic)
            try await admin.createTopic(topic, partitions: 1)
            try await produce(["not json at all"])  // offset 0 again
            let second = try await Self.drain(
                topic, count: 1, group: "votes-sink", handler: VoteRecordHandler(), database: database)
            #expect(second.deadLettered + second.reapplied == 1)
            let atZero = try await database.query(
                "SELECT count(*) AS n FROM dead_letters WHERE \"offset\" = 0")[0].decode(Int.self, "n")
            #expect(atZero == 2, "the new bad message at offset 0 left no record")
            try await admin.deleteTopic(topic)
        }
    }
}
